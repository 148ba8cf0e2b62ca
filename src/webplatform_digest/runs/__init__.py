"""Digest runs at the edge: requests, sessions, the drivers of both MCP eras, the registry."""
