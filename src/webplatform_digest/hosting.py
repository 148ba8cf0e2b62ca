"""Running an async context manager inside a task of its own.

MCP lifespans may be entered from one task and left from another (FastMCP's in-memory and
stdio transports do), but anyio task groups and cancel scopes must be exited by the task that
entered them. ``HostedContext`` enters the context in a dedicated host task and keeps it open
until ``stop()``, so the caller's tasks never own those scopes. ``begin()`` starts entering
without waiting, for work a server does after it already answers (``entered()`` waits).
"""

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Generic, TypeVar, cast

import anyio

T = TypeVar("T")


class HostedContext(Generic[T]):
    """Enter ``factory()`` in a host task on ``start()`` (or ``begin()``); leave it there on
    ``stop()``."""

    def __init__(self, factory: Callable[[], AbstractAsyncContextManager[T]]) -> None:
        self._factory = factory
        self._task: asyncio.Task[None] | None = None
        self._ready = anyio.Event()
        self._stop = anyio.Event()
        self._error: BaseException | None = None
        self._value: T | None = None
        self._entered = False  # the context may yield None: a flag, not the value, says so

    @property
    def value(self) -> T:
        """What the context manager yielded (only while started)."""
        if not self._entered:
            raise RuntimeError("the hosted context is not running")
        return cast(T, self._value)  # T may be None itself

    def begin(self) -> None:
        """Start entering the context in the host task, without waiting (see ``entered``)."""
        self._ready = anyio.Event()
        self._stop = anyio.Event()
        self._error = None
        # a plain asyncio task: it must outlive the caller's task and cancel scopes
        self._task = asyncio.get_running_loop().create_task(self._host(self._ready))

    async def entered(self) -> T:
        """Wait until the context is entered; re-raise its error if entering failed (to every
        caller that waits)."""
        await self._ready.wait()
        if self._error is not None:
            raise self._error
        return self.value

    async def start(self) -> T:
        """Enter the context in the host task; re-raise its error if entering failed."""
        self.begin()
        return await self.entered()

    async def stop(self) -> None:
        """Leave the context (in the host task) and wait until it has been left. A context that
        failed to enter has nothing to leave."""
        task, self._task = self._task, None
        if task is None or self._error is not None:
            return
        with anyio.CancelScope(shield=True):
            self._stop.set()
            await task

    async def _host(self, ready: anyio.Event) -> None:
        try:
            async with self._factory() as value:
                self._value, self._entered = value, True
                ready.set()
                await self._stop.wait()
        except BaseException as exc:
            if self._entered:
                raise  # leaving failed: ``stop()`` re-raises it
            self._error = exc  # entering failed: ``entered()`` re-raises it, nothing to leave
        finally:
            self._value, self._entered = None, False
            ready.set()
