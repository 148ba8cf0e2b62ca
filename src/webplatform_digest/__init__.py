"""webplatform-digest: Chrome web-platform release notes → per-area digests and a Pages site."""

__version__ = "0.1.0"
