"""Consecutive-failure circuit breaker (pure transition logic on an injected clock).

States: ``closed`` → (``threshold`` consecutive failures) → ``open`` → (``cooldown`` elapsed, on
the next admission) → ``half_open`` → probe success → ``closed`` / probe failure → ``open``.

* Half-open admits exactly one probe; every other call fails fast with ``CircuitOpenError``
  (waiting would only queue callers behind a backend that is probably still down).
* A probe that reports neither success nor failure (cancelled, user-rejected, HTTP 400, ...)
  frees the probe slot and leaves the breaker half-open, so the next call probes.
* A probe that never reports is bounded by ``probe_lease`` (the governor also cuts every attempt
  at its timeout): after the lease a new probe is admitted and the old one is ignored.
* Every transition bumps a generation; a call reports against the generation it was admitted
  in, so calls started before the breaker opened can neither close nor re-open it.
* A call admitted while closed may queue (slot, rate token) while the breaker trips; ``confirm``
  re-checks it right before the backend is called, so no call starts after the trip.
* What counts as a failure is the exception's ``counts_as_failure`` (``errors.LLMError``); our
  own other errors (``WebplatformError``: validation, input) and cancellation never do; any
  other ``Exception`` (an unexpected error from a backend library) does.
"""

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from webplatform_digest.errors import CircuitOpenError, LLMError, WebplatformError

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
#: gauge value per state (``webplatform_digest_circuit_breaker_state``)
STATE_VALUES = {CLOSED: 0, OPEN: 1, HALF_OPEN: 2}

#: called with (from_state, to_state) on every transition
TransitionHook = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Ticket:
    """Proof of admission: the generation a call was admitted in, and whether it is the probe."""

    generation: int
    probe: bool = False


def classify(exc: BaseException | None) -> str:
    """``success``, ``failure`` or ``neutral`` for a call that ended with ``exc``."""
    if exc is None:
        return "success"
    if isinstance(exc, LLMError):
        return "failure" if exc.counts_as_failure else "neutral"
    if isinstance(exc, WebplatformError) or not isinstance(exc, Exception):
        return "neutral"  # our validation, cancellation: say nothing about the backend
    return "failure"


class CircuitBreaker:
    """One breaker per backend name; not thread-safe (one event loop)."""

    def __init__(
        self,
        name: str,
        *,
        threshold: int,
        cooldown: float,
        clock: Callable[[], float],
        probe_lease: float = float("inf"),
        on_transition: TransitionHook | None = None,
    ) -> None:
        self.name = name
        self._threshold = max(1, threshold)
        self._cooldown = cooldown
        self._clock = clock
        self._lease = probe_lease
        self._on_transition = on_transition
        self._state = CLOSED
        self._generation = 0
        self._failures = 0
        self._opened_at = 0.0
        self._probe_since: float | None = None

    @property
    def state(self) -> str:
        """The current state (an open breaker past its cooldown still reads ``open``)."""
        return self._state

    @property
    def generation(self) -> int:
        """Bumped on every transition; tickets of older generations are stale."""
        return self._generation

    @property
    def failures(self) -> int:
        """Consecutive failures counted while closed."""
        return self._failures

    @property
    def probing(self) -> bool:
        """Half-open with a probe in flight (its verdict decides the next state)."""
        return self._state == HALF_OPEN and self._probe_since is not None

    def cooldown_left(self) -> float:
        """Seconds until an open breaker admits a probe (0 when not open or already due)."""
        if self._state != OPEN:
            return 0.0
        return max(0.0, self._cooldown - (self._clock() - self._opened_at))

    def admit(self) -> Ticket:
        """Admit one call or raise.

        Raises:
            CircuitOpenError: open and cooling down, or half-open with the probe in flight.
        """
        now = self._clock()
        if self._state == OPEN and now - self._opened_at >= self._cooldown:
            self._move(HALF_OPEN)
        if self._state == CLOSED:
            return Ticket(self._generation)
        if self._state == HALF_OPEN and self._probe_free(now):
            self._probe_since = now
            return Ticket(self._generation, probe=True)
        remaining = (
            max(0.0, self._cooldown - (now - self._opened_at)) if self._state == OPEN else None
        )
        raise CircuitOpenError(
            f"circuit for LLM backend {self.name!r} is open; not calling it",
            retry_after=remaining,
        )

    def confirm(self, ticket: Ticket) -> Ticket:
        """Re-check an admission after queueing; a ticket from before a transition is re-admitted.

        Raises:
            CircuitOpenError: the breaker opened while the call was queued.
        """
        if ticket.generation == self._generation:
            return ticket
        return self.admit()

    def record(self, ticket: Ticket, exc: BaseException | None = None) -> None:
        """Report how an admitted call ended (``exc`` None = success)."""
        if ticket.generation != self._generation:
            return  # admitted before the last transition: its result is stale
        verdict = classify(exc)
        if ticket.probe:
            self._probe_since = None
            if verdict == "success":
                self._move(CLOSED)
            elif verdict == "failure":
                self._trip()
        elif self._state == CLOSED:
            if verdict == "success":
                self._failures = 0
            elif verdict == "failure":
                self._failures += 1
                if self._failures >= self._threshold:
                    self._trip()

    def guard(self) -> "BreakerGuard":
        """``async with breaker.guard():`` admits on entry and records the outcome on exit."""
        return BreakerGuard(self)

    def _probe_free(self, now: float) -> bool:
        if self._probe_since is None:
            return True
        if now - self._probe_since >= self._lease:
            self._generation += 1  # the lost probe can no longer report
            return True
        return False

    def _trip(self) -> None:
        self._opened_at = self._clock()
        self._move(OPEN)

    def _move(self, to_state: str) -> None:
        from_state, self._state = self._state, to_state
        self._generation += 1
        self._failures = 0
        self._probe_since = None
        if self._on_transition is not None:
            self._on_transition(from_state, to_state)


class BreakerGuard:
    """Async context manager around one breaker admission."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self._breaker = breaker
        self._ticket: Ticket | None = None

    async def __aenter__(self) -> Ticket:
        self._ticket = self._breaker.admit()
        return self._ticket

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._ticket is not None:
            self._breaker.record(self._ticket, exc)
