"""Digest writes of the input-required flow that land while the client answers the next round."""

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskGroup

from webplatform_digest.runs.output import DigestWrite


@dataclass(slots=True)
class _Deferred:
    done: anyio.Event = field(default_factory=anyio.Event)
    result: DigestWrite | None = None
    error: Exception | None = None


class DeferredWrites:
    """Digest writes of the input-required flow that complete while the client answers the
    next round, instead of delaying the round's reply.

    Open one per process (``async with DeferredWrites.open() as deferred``) and put it in
    ``RunServices``; the next call of the same run settles them first, and the final call writes
    synchronously, so a finished run's files are on disk when its summary is returned.
    """

    def __init__(self, group: TaskGroup) -> None:
        self._group = group
        self._pending: dict[str, list[_Deferred]] = {}

    @classmethod
    @asynccontextmanager
    async def open(cls) -> AsyncGenerator["DeferredWrites"]:
        """Run deferred writes in a task group that waits for them on exit."""
        async with anyio.create_task_group() as group:
            yield cls(group)

    def submit(self, run_id: str, write: Callable[[], Awaitable[DigestWrite]]) -> None:
        """Start ``write`` in the background on behalf of ``run_id``."""
        entry = _Deferred()
        self._pending.setdefault(run_id, []).append(entry)

        async def run() -> None:
            try:
                entry.result = await write()
            except Exception as exc:  # noqa: BLE001 - settle() re-raises it to the run's next call
                entry.error = exc
            finally:
                entry.done.set()

        self._group.start_soon(run)

    async def settle(self, run_id: str) -> list[DigestWrite]:
        """Wait for the run's deferred writes; returns their results.

        Raises:
            WriteError: one of them failed (the others are still awaited first).
        """
        entries = self._pending.pop(run_id, [])
        for entry in entries:
            await entry.done.wait()
        for entry in entries:
            if entry.error is not None:
                raise entry.error
        return [e.result for e in entries if e.result is not None]
