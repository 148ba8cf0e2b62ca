"""The loop-lag watcher: how late the loop wakes its timer, as events and as a histogram."""

import time

import anyio
import anyio.lowlevel
import pytest
from prometheus_client import CollectorRegistry

from webplatform_digest.events import Event, LoopLag
from webplatform_digest.telemetry.loop_lag import watch_loop_lag
from webplatform_digest.telemetry.prometheus import PrometheusHook


class _LateSleeper:
    """A clock and a sleep that wakes each sleeper late by the next scripted amount."""

    def __init__(self, lateness: list[float]) -> None:
        self.now = 0.0
        self._lateness = lateness

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds + (self._lateness.pop(0) if self._lateness else 0.0)
        await anyio.lowlevel.checkpoint()


async def test_each_sample_reports_how_late_the_timer_fired() -> None:
    """Lag is wake-up time minus the interval; an early or exact wake-up is zero, never negative."""
    sleeper = _LateSleeper([0.0, 0.004, 0.120, -0.001])
    seen: list[float] = []

    def emit(event: Event) -> None:
        assert isinstance(event, LoopLag)
        seen.append(round(event.seconds, 6))
        if len(seen) == 4:
            scope.cancel()

    with anyio.CancelScope() as scope:
        await watch_loop_lag(emit, interval=0.25, clock=sleeper.clock, sleep=sleeper.sleep)
    assert seen == [0.0, 0.004, 0.12, 0.0]


async def test_a_blocked_loop_shows_up_as_lag() -> None:
    """Blocking the real loop for 60 ms is seen as at least 50 ms of lag by the real watcher."""
    worst = 0.0
    blocked = anyio.Event()

    def emit(event: Event) -> None:
        nonlocal worst
        assert isinstance(event, LoopLag)
        worst = max(worst, event.seconds)
        if worst >= 0.05:
            blocked.set()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(lambda: watch_loop_lag(emit, interval=0.01))
            await anyio.lowlevel.checkpoint()
            time.sleep(0.06)  # noqa: ASYNC251 - blocking the loop is the behaviour under test
            await blocked.wait()
            group.cancel_scope.cancel()
    assert worst >= 0.05


@pytest.mark.parametrize(
    ("lag", "below", "bucket"),
    [(0.0004, None, "0.001"), (0.012, "0.01", "0.015"), (3.0, "1.0", "+Inf")],
)
def test_lag_samples_fill_the_loop_lag_histogram(
    lag: float, below: str | None, bucket: str
) -> None:
    """The Prometheus hook observes each sample in ``event_loop_lag_seconds``."""
    registry = CollectorRegistry()
    hook = PrometheusHook(registry, ("css",), process_metrics=False)
    hook.handle(LoopLag(seconds=lag))
    name = "webplatform_digest_event_loop_lag_seconds"
    assert registry.get_sample_value(f"{name}_count") == 1
    assert registry.get_sample_value(f"{name}_bucket", {"le": bucket}) == 1
    if below is not None:
        assert registry.get_sample_value(f"{name}_bucket", {"le": below}) == 0
