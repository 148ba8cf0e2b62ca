"""Process start-up shared by every entry point that runs the server (``serve``, the launcher).

Importing the server and building its app allocates only objects that live as long as the
process. Collecting while they are being made is wasted work (a noticeable share of start-up),
and once made they need never be scanned again, so start-up runs with the cyclic collector off
and ends by freezing everything allocated so far into the permanent generation.
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
        gc.freeze()
