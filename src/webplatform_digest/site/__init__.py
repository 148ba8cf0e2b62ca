"""The published site as values: model, page texts, safe markdown, Jekyll and HTML (pure)."""
