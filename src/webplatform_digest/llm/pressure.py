"""Resource-aware concurrency: lower the LLM concurrency limit under CPU or memory pressure.

Off by default. When on, the governor samples the system at most once per ``interval`` seconds
before an attempt: under pressure the limit halves (never below the floor); once pressure is
gone it grows back by one per sample up to the configured maximum. Changes are visible as
``ConcurrencyChanged`` events.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from webplatform_digest.clock import Clock

#: returns (CPU percent, memory percent) of the whole machine
PressureProbe = Callable[[], tuple[float, float]]


class Adjustable(Protocol):
    """Something with an adjustable token count (``anyio.CapacityLimiter``)."""

    @property
    def total_tokens(self) -> float:
        """The current limit."""
        ...

    @total_tokens.setter
    def total_tokens(self, value: float) -> None: ...


def system_pressure() -> tuple[float, float]:
    """CPU and memory use in percent (psutil; CPU since the previous call, non-blocking)."""
    import psutil  # imported only when resource-aware mode is on

    return psutil.cpu_percent(interval=None), psutil.virtual_memory().percent


def next_limit(current: int, maximum: int, floor: int, pressured: bool) -> int:
    """The concurrency limit after one sample."""
    floor = max(1, min(floor, maximum))
    if pressured:
        return max(floor, current // 2)
    return min(maximum, current + 1)


@dataclass(slots=True)
class ResourceGovernor:
    """Samples pressure and moves the concurrency limit between ``floor`` and ``maximum``."""

    enabled: bool
    maximum: int
    floor: int
    cpu_high: float
    memory_high: float
    clock: Clock
    probe: PressureProbe
    interval: float = 1.0
    _last: float = float("-inf")

    def adjust(self, slots: Adjustable, on_change: Callable[[], None]) -> None:
        """Sample (rate-limited by ``interval``) and apply a new limit if it changed."""
        if not self.enabled:
            return
        now = self.clock()
        if now - self._last < self.interval:
            return
        self._last = now
        cpu, memory = self.probe()
        pressured = cpu >= self.cpu_high or memory >= self.memory_high
        current = int(slots.total_tokens)
        limit = next_limit(current, self.maximum, self.floor, pressured)
        if limit != current:
            slots.total_tokens = limit
            on_change()
