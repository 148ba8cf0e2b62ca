"""Rate limiter: a token bucket kept as a schedule of admission times (GCRA), on an injected clock.

Each caller *reserves* the next admission time synchronously, then sleeps until it. Because the
reservation is taken in one step, the limiter is safe under any concurrency (the predecessor's
check-then-sleep limiter admitted 10/s through a 2/s limit at concurrency 8) and fair: callers
are admitted in the order they asked (FIFO).

Guarantee: in any window of length ``L`` seconds at most ``floor(rate * L) + burst`` calls are
admitted, so at most ``rate + burst`` in any 1 s window; sustained throughput is ``rate``/s.

Cancellation: a caller cancelled while waiting gives its reservation back when it is the last
one in the schedule; otherwise the slot is forfeited (never re-used, which can only lower the
admitted rate).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Reservation:
    """An admission time, and the schedule state before and after it was taken."""

    at: float
    before: float
    after: float


class RateLimiter:
    """At most ``rate`` admissions per second sustained, ``burst`` at once."""

    def __init__(self, rate: float, burst: int = 1, *, clock: Clock) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._interval = 1.0 / rate
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._tat = float("-inf")  # theoretical arrival time of the next conforming call

    def reserve(self) -> Reservation:
        """Take the next admission time (now or later)."""
        now = self._clock()
        start = max(self._tat, now)
        at = max(now, start - self._tolerance)
        before, self._tat = self._tat, start + self._interval
        return Reservation(at=at, before=before, after=self._tat)

    def cancel(self, reservation: Reservation) -> None:
        """Give an unused reservation back if nothing was scheduled after it."""
        if self._tat == reservation.after:
            self._tat = reservation.before

    def delay(self, reservation: Reservation) -> float:
        """Seconds until ``reservation`` may proceed (0 if it may proceed now)."""
        return max(0.0, reservation.at - self._clock())

    async def acquire(self, sleep: Sleep) -> float:
        """Wait for admission with the injected ``sleep``; returns the seconds waited."""
        reservation = self.reserve()
        wait = self.delay(reservation)
        if wait > 0:
            try:
                await sleep(wait)
            except BaseException:
                self.cancel(reservation)
                raise
        return wait
