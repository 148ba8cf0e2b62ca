"""The MCP server: the FastMCP app, its tools and resources, and the HTTP transport."""

from webplatform_digest.server.app import create_server, main, serve

__all__ = ["create_server", "main", "serve"]
