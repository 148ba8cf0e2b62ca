"""Run the webplatform-digest MCP server over stdio: ``python fast_mcp_server.py``."""

from webplatform_digest.startup import long_lived_startup

with long_lived_startup():
    from webplatform_digest.server import main

main()
