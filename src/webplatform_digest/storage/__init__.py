"""The workspace on disk: paths, the lock, crash-safe commits, the write queue and its writers."""
