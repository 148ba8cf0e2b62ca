"""Application services called by the MCP tools and the CLI: process, digest, pages."""
