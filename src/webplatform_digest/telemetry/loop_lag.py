"""Event-loop lag: how late the loop wakes a periodic timer, reported as ``LoopLag`` events.

Anything that blocks the loop (a file commit, a big render, SQLite) delays every request on it;
the lag is that delay as the loop itself sees it, so ``/healthz`` latency can be explained from
``/metrics`` without a profiler.
"""

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio

from webplatform_digest.clock import Clock, monotonic
from webplatform_digest.events import Event, LoopLag

#: seconds between two samples: cheap (a timer wake-up) and fine enough for a 15 ms target
INTERVAL = 0.25


async def watch_loop_lag(
    emit: Callable[[Event], None],
    *,
    interval: float = INTERVAL,
    clock: Clock = monotonic,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> None:
    """Emit one ``LoopLag`` per ``interval`` until cancelled."""
    while True:
        started = clock()
        await sleep(interval)
        emit(LoopLag(seconds=max(0.0, clock() - started - interval)))


@asynccontextmanager
async def watching_loop_lag(
    emit: Callable[[Event], None], *, interval: float = INTERVAL
) -> AsyncGenerator[None]:
    """Run ``watch_loop_lag`` for as long as the context is open."""
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: watch_loop_lag(emit, interval=interval))
        try:
            yield
        finally:
            group.cancel_scope.cancel()
