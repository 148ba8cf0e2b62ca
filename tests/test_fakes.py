"""Our own fakes behave like the real things they replace (time, in particular)."""

import anyio
import pytest

from tests.fakes import HANG, FakeClock, ScriptedBackend
from webplatform_digest.llm.port import LLMRequest


async def test_a_lone_sleep_advances_time_at_once_and_is_recorded() -> None:
    """Autojump: nothing else runs, so time jumps to the sleeper's deadline."""
    clock = FakeClock(0.0)
    await clock.sleep(5.0)
    await clock.sleep(0.0)
    assert (clock(), clock.sleeps) == (5.0, [5.0, 0.0])


async def test_concurrent_sleeps_overlap_like_real_ones() -> None:
    """Ten 1 s sleeps started together end at +1 s; a 3 s one wakes after a 2 s one."""
    clock = FakeClock(0.0)
    woke: list[tuple[float, float]] = []

    async def nap(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((seconds, clock()))

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(nap, 1.0)
        group.start_soon(nap, 3.0)
        group.start_soon(nap, 2.0)
    assert clock() == 3.0
    assert woke[-2:] == [(2.0, 2.0), (3.0, 3.0)]
    await clock.quiesce()


async def test_time_does_not_jump_while_another_task_is_busy() -> None:
    """A task yielding with checkpoints keeps the clock still."""
    clock = FakeClock(0.0)
    seen: list[float] = []

    async def busy() -> None:
        for _ in range(50):
            seen.append(clock())
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:
        group.start_soon(clock.sleep, 1.0)
        group.start_soon(busy)
    assert set(seen) == {0.0}
    assert clock() == 1.0


async def test_manual_mode_wakes_sleepers_only_when_advanced() -> None:
    """``advance`` / ``run_for`` move time; sleepers wake in deadline order."""
    clock = FakeClock(0.0, autojump=False)
    woke: list[float] = []

    async def nap(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(clock())

    async with anyio.create_task_group() as group:
        group.start_soon(nap, 1.0)
        group.start_soon(nap, 3.0)
        await clock.settle()
        assert (woke, clock.sleeping) == ([], 2)
        await clock.run_for(2.0)
        assert woke == [1.0]
        clock.advance(5.0)
    assert woke == [1.0, 7.0]


async def test_a_hanging_scripted_step_waits_until_cancelled() -> None:
    """``HANG`` never answers; the peak counter saw the call."""
    backend = ScriptedBackend(steps=[HANG])
    with anyio.move_on_after(0.05) as scope:
        await backend.complete(LLMRequest(system="", messages=()))
    assert scope.cancelled_caught
    assert (backend.in_flight, backend.peak) == (0, 1)


async def test_scripted_latency_uses_the_fake_clock() -> None:
    """A slow-OK backend costs fake seconds, not real ones."""
    clock = FakeClock(0.0)
    backend = ScriptedBackend(steps=["ok"], clock=clock, latency=30.0)
    reply = await backend.complete(LLMRequest(system="", messages=()))
    assert (reply.text, clock()) == ("ok", pytest.approx(30.0))
