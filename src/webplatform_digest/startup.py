"""Process start-up shared by every entry point that runs the server (``serve``, the launcher).

Importing the server and building its app allocates only objects that live as long as the
process. Collecting while they are being made is wasted work (a noticeable share of start-up),
and once made they need never be scanned again, so start-up runs with the cyclic collector off
and ends by freezing everything allocated so far into the permanent generation. Code the
server loads later, on first use (a tool's implementation, the warmed container), is kept the
same way once loaded (``keep_loaded``).
"""

import gc
from collections.abc import Generator
from contextlib import contextmanager


@contextmanager
def long_lived_startup() -> Generator[None]:
    """Run the block with the collector off; then re-enable it and freeze what exists."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        keep_loaded()


def keep_loaded() -> None:
    """Move everything allocated so far into the permanent generation: modules and services
    loaded for good are never scanned again, so full collections stay as short as they were
    right after start-up."""
    gc.freeze()
