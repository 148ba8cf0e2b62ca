"""Run the webplatform-digest MCP server over stdio: ``python fast_mcp_server.py``."""

import gc

gc.disable()  # start-up only allocates long-lived objects; the server re-enables collection
from webplatform_digest.server import main  # noqa: E402

main()
