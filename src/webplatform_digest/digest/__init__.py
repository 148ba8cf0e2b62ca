"""Digests as values: prompts, reply checks, the sans-I/O run machine and the file format (pure)."""
