"""Focus areas: the catalogue, classification of features, and per-area data documents (pure)."""
