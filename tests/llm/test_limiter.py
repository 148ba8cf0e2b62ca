"""The rate limiter: conformance under concurrency, burst, FIFO order, cancellation."""

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes import FakeClock
from webplatform_digest.llm.limiter import RateLimiter


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most timestamps in any closed window of ``window`` seconds."""
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        inside = sum(1 for t in ordered[i:] if t <= start + window + 1e-9)
        best = max(best, inside)
    return best


async def admit_all(limiter: RateLimiter, clock: FakeClock, callers: int) -> list[float]:
    """Start ``callers`` tasks at once; return their admission times in admission order."""
    admitted: list[float] = []

    async def one() -> None:
        await limiter.acquire(clock.sleep)
        admitted.append(clock())

    async with anyio.create_task_group() as group:
        for _ in range(callers):
            group.start_soon(one)
    return admitted


@pytest.mark.parametrize("burst", [1, 3])
async def test_hundred_concurrent_requests_stay_within_rate_plus_burst_per_second(
    fake_clock: FakeClock, burst: int
) -> None:
    """Reliability case 8: 5/s, 100 requests at once → ≤ 5 + burst in any 1 s; rate 5/s ± 5 %."""
    limiter = RateLimiter(5.0, burst, clock=fake_clock)
    start = fake_clock()
    admitted = await admit_all(limiter, fake_clock, 100)
    assert len(admitted) == 100
    assert max_in_window(admitted) <= 5 + burst
    steady = (100 - burst) / (admitted[-1] - start)
    assert steady == pytest.approx(5.0, rel=0.05)


async def test_burst_is_admitted_at_once_then_the_rate_applies(fake_clock: FakeClock) -> None:
    """Burst 3 at 2/s: three now, then one every 0.5 s."""
    limiter = RateLimiter(2.0, 3, clock=fake_clock)
    start = fake_clock()
    admitted = await admit_all(limiter, fake_clock, 6)
    assert [round(t - start, 6) for t in admitted] == [0.0, 0.0, 0.0, 0.5, 1.0, 1.5]


async def test_an_idle_limiter_refills_its_burst(fake_clock: FakeClock) -> None:
    """After a quiet period the burst is available again, never more."""
    limiter = RateLimiter(2.0, 2, clock=fake_clock)
    await admit_all(limiter, fake_clock, 4)
    fake_clock.advance(60.0)
    start = fake_clock()
    admitted = await admit_all(limiter, fake_clock, 3)
    assert [round(t - start, 6) for t in admitted] == [0.0, 0.0, 0.5]


async def test_waiters_are_admitted_in_arrival_order(fake_clock: FakeClock) -> None:
    """FIFO: caller k is admitted k-th."""
    limiter = RateLimiter(4.0, 1, clock=fake_clock)
    order: list[int] = []

    async def one(k: int) -> None:
        await limiter.acquire(fake_clock.sleep)
        order.append(k)

    async with anyio.create_task_group() as group:
        for k in range(12):
            group.start_soon(one, k)
            await anyio.lowlevel.checkpoint()
    assert order == list(range(12))


async def test_a_cancelled_last_waiter_gives_its_slot_back(fake_clock: FakeClock) -> None:
    """The next caller takes the cancelled caller's admission time, not a later one."""
    limiter = RateLimiter(1.0, 1, clock=fake_clock)
    start = fake_clock()
    await limiter.acquire(fake_clock.sleep)
    async with anyio.create_task_group() as group:
        group.start_soon(limiter.acquire, fake_clock.sleep)
        await anyio.lowlevel.checkpoint()
        assert fake_clock.sleeping == 1
        group.cancel_scope.cancel()
    waited = await limiter.acquire(fake_clock.sleep)
    assert fake_clock() - start == pytest.approx(1.0)
    assert waited == pytest.approx(1.0)


def test_a_reservation_in_the_middle_of_the_schedule_is_forfeited() -> None:
    """Only the tail can be returned; a middle slot is never re-used (the rate can only drop)."""
    now = [0.0]
    limiter = RateLimiter(1.0, 1, clock=lambda: now[0])
    first, middle, last = limiter.reserve(), limiter.reserve(), limiter.reserve()
    limiter.cancel(middle)
    assert limiter.reserve().at == last.at + 1.0
    assert first.at == 0.0


def test_invalid_parameters_are_refused() -> None:
    """A zero rate or burst would never admit anything."""
    with pytest.raises(ValueError, match="rate"):
        RateLimiter(0.0, 1, clock=lambda: 0.0)
    with pytest.raises(ValueError, match="burst"):
        RateLimiter(1.0, 0, clock=lambda: 0.0)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.sampled_from([0.5, 1.0, 2.0, 2.5, 5.0, 10.0]),
    burst=st.integers(1, 5),
    gaps=st.lists(st.floats(0.0, 2.0, allow_nan=False), min_size=1, max_size=60),
)
def test_any_arrival_pattern_conforms(rate: float, burst: int, gaps: list[float]) -> None:
    """Whatever the arrivals, admissions in any 1 s window ≤ floor(rate) + burst."""
    now = [0.0]
    limiter = RateLimiter(rate, burst, clock=lambda: now[0])
    admitted: list[float] = []
    for gap in gaps:
        now[0] += gap
        reservation = limiter.reserve()
        assert reservation.at >= now[0]
        admitted.append(reservation.at)
    assert admitted == sorted(admitted)
    assert max_in_window(admitted) <= int(rate) + burst
