"""Tool bodies load on first use, off the event loop.

The server answers ``initialize`` and ``tools/list`` from the tool signatures alone; what a
tool does (services, the digest machine, the site renderer, the HTTP client) is imported the
first time the tool is called. That import runs in a worker thread, so the loop keeps serving
other requests (``/healthz``, progress, other sessions) while it happens.
"""

import importlib
import sys

import anyio


async def load(module: str) -> None:
    """Import ``module`` in a worker thread unless it is already imported.

    After this returns, ``from <module> import ...`` in the caller is a dictionary lookup.
    """
    if module not in sys.modules:
        await anyio.to_thread.run_sync(importlib.import_module, module)
