"""Tool bodies load on first use, off the event loop.

The server answers ``initialize`` and ``tools/list`` from the tool signatures alone; what a
tool does (services, the digest machine, the site renderer, the HTTP client) is imported the
first time the tool is called. That import runs in a worker thread, so the loop keeps serving
other requests (``/healthz``, progress, other sessions) while it happens, and what it loaded
is then frozen out of the collector's reach like start-up's objects (``startup.keep_loaded``),
so later full collections do not grow with every tool used.
"""

import importlib
import sys

import anyio

from webplatform_digest.startup import keep_loaded


async def load(module: str) -> None:
    """Import ``module`` in a worker thread unless it is already imported.

    After this returns, ``from <module> import ...`` in the caller is a dictionary lookup.
    """
    if module not in sys.modules:
        await anyio.to_thread.run_sync(_import_for_good, module)


def _import_for_good(module: str) -> None:
    importlib.import_module(module)
    keep_loaded()
