"""Time budgets on an injected sleep (fake clock) and on the event loop's timer."""

import anyio
import pytest

from tests.fakes import FakeClock
from webplatform_digest.llm.timeouts import run_within


async def test_work_that_finishes_in_time_returns_its_result(fake_clock: FakeClock) -> None:
    """The watchdog is cancelled; time only moves by the work's own sleep."""

    async def work() -> str:
        await fake_clock.sleep(1.0)
        return "done"

    assert await run_within(fake_clock.sleep, 2.0, work) == "done"
    assert fake_clock.now == 1001.0
    await fake_clock.quiesce()


async def test_work_that_overruns_is_cancelled_at_the_budget(fake_clock: FakeClock) -> None:
    """Cut at exactly 2 s of fake time; the work saw a cancellation."""
    cancelled: list[bool] = []

    async def work() -> str:
        try:
            await fake_clock.sleep(10.0)
        except anyio.get_cancelled_exc_class():
            cancelled.append(True)
            raise
        return "late"

    with pytest.raises(TimeoutError):
        await run_within(fake_clock.sleep, 2.0, work)
    assert fake_clock.now == 1002.0
    assert cancelled == [True]


async def test_errors_of_the_work_pass_through_unwrapped(fake_clock: FakeClock) -> None:
    """No ExceptionGroup: callers catch the error class they expect."""

    async def work() -> str:
        raise KeyError("x")

    with pytest.raises(KeyError):
        await run_within(fake_clock.sleep, 2.0, work)


async def test_a_spent_budget_fails_without_starting_the_work(fake_clock: FakeClock) -> None:
    """Zero or negative seconds → TimeoutError at once."""

    async def work() -> str:
        raise AssertionError("must not run")

    with pytest.raises(TimeoutError):
        await run_within(fake_clock.sleep, 0.0, work)


async def test_the_real_timer_path_has_the_same_semantics() -> None:
    """With ``anyio.sleep`` the budget is a cancel scope on the loop's timer."""

    async def quick() -> int:
        return 7

    assert await run_within(anyio.sleep, 5.0, quick) == 7
    with pytest.raises(TimeoutError):
        await run_within(anyio.sleep, 0.01, anyio.sleep_forever)
    with pytest.raises(KeyError):
        await run_within(anyio.sleep, 5.0, _raise_key_error)


async def _raise_key_error() -> None:
    raise KeyError("y")
