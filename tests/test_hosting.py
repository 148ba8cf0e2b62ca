"""An async context entered in a host task of its own, waited for or not."""

import contextlib
from collections.abc import AsyncGenerator

import anyio
import pytest

from webplatform_digest.hosting import HostedContext


class Gate:
    """A context whose entering waits until the test opens the gate, and that records it."""

    def __init__(self, *, fail: bool = False) -> None:
        self.open = anyio.Event()
        self.fail = fail
        self.entered = 0
        self.left = 0

    @contextlib.asynccontextmanager
    async def context(self) -> AsyncGenerator[str]:
        await self.open.wait()
        if self.fail:
            raise OSError("disk gone")
        self.entered += 1
        try:
            yield "value"
        finally:
            self.left += 1


async def test_begin_returns_before_the_context_is_entered_and_entered_waits_for_it() -> None:
    """``begin`` never waits; every ``entered`` caller gets the value once it is entered."""
    gate = Gate()
    hosted = HostedContext(gate.context)
    hosted.begin()
    assert gate.entered == 0
    values: list[str] = []
    async with anyio.create_task_group() as group:
        for _ in range(2):
            group.start_soon(lambda: _append(values, hosted))
        await anyio.wait_all_tasks_blocked()
        assert values == []
        gate.open.set()
    assert values == ["value", "value"]
    await hosted.stop()
    assert (gate.entered, gate.left) == (1, 1)


async def _append(values: list[str], hosted: HostedContext[str]) -> None:
    values.append(await hosted.entered())


async def test_a_failure_to_enter_reaches_every_waiter_and_leaves_nothing_to_stop() -> None:
    """Each ``entered`` re-raises the error; ``stop`` then returns at once."""
    gate = Gate(fail=True)
    gate.open.set()
    hosted = HostedContext(gate.context)
    hosted.begin()
    for _ in range(2):
        with pytest.raises(OSError, match="disk gone"):
            await hosted.entered()
    with anyio.fail_after(1):
        await hosted.stop()
    assert gate.left == 0


async def test_a_context_stopped_while_it_is_still_entering_is_entered_then_left() -> None:
    """Stopping before entering finished waits for it and leaves it (nothing left open)."""
    gate = Gate()
    hosted = HostedContext(gate.context)
    hosted.begin()
    async with anyio.create_task_group() as group:
        group.start_soon(hosted.stop)
        await anyio.wait_all_tasks_blocked()
        gate.open.set()
    assert (gate.entered, gate.left) == (1, 1)
