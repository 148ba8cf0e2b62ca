"""The circuit breaker's transitions, its single half-open probe and failure classification."""

import asyncio

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.fakes import FakeClock
from webplatform_digest.errors import (
    BackendError,
    CircuitOpenError,
    DeadlineExceededError,
    InputError,
    LLMTimeoutError,
    RateLimitedError,
    SamplingRejectedError,
)
from webplatform_digest.llm.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, Ticket, classify


def breaker(clock: FakeClock, **kwargs: float) -> tuple[CircuitBreaker, list[tuple[str, str]]]:
    """A breaker (threshold 3, cooldown 5 s) and the list its transitions are recorded in."""
    seen: list[tuple[str, str]] = []
    made = CircuitBreaker(
        "scripted",
        threshold=int(kwargs.pop("threshold", 3)),
        cooldown=kwargs.pop("cooldown", 5.0),
        clock=clock,
        on_transition=lambda a, b: seen.append((a, b)),
        **kwargs,
    )
    return made, seen


def fail(b: CircuitBreaker, times: int = 1) -> None:
    """Admit and fail ``times`` calls with a 503."""
    for _ in range(times):
        b.record(b.admit(), BackendError("503", status=503))


def test_breaker_opens_after_threshold_consecutive_failures_and_then_fails_fast(
    fake_clock: FakeClock,
) -> None:
    """Three failures open it; the next admission raises without a ticket."""
    b, seen = breaker(fake_clock)
    fail(b, 2)
    assert b.state == CLOSED
    fail(b)
    assert b.state == OPEN
    assert seen == [(CLOSED, OPEN)]
    with pytest.raises(CircuitOpenError):
        b.admit()


def test_a_success_resets_the_consecutive_failure_count(fake_clock: FakeClock) -> None:
    """Failures must be consecutive to trip."""
    b, _ = breaker(fake_clock)
    fail(b, 2)
    b.record(b.admit())
    fail(b, 2)
    assert b.state == CLOSED
    assert b.failures == 2


def test_half_open_admits_exactly_one_probe_and_rejects_the_others(fake_clock: FakeClock) -> None:
    """After the cooldown, one of ten admissions is the probe, nine fail fast."""
    b, seen = breaker(fake_clock)
    fail(b, 3)
    fake_clock.advance(5.0)
    tickets: list[Ticket] = []
    rejected = 0
    for _ in range(10):
        try:
            tickets.append(b.admit())
        except CircuitOpenError:
            rejected += 1
    assert [t.probe for t in tickets] == [True]
    assert rejected == 9
    assert seen[-1] == (OPEN, HALF_OPEN)


def test_open_breaker_stays_open_until_the_cooldown_has_passed(fake_clock: FakeClock) -> None:
    """4.99 s after the trip it still rejects."""
    b, _ = breaker(fake_clock)
    fail(b, 3)
    fake_clock.advance(4.99)
    with pytest.raises(CircuitOpenError):
        b.admit()


def test_failed_probe_reopens_with_a_fresh_cooldown(fake_clock: FakeClock) -> None:
    """The cooldown restarts at the probe's failure."""
    b, seen = breaker(fake_clock)
    fail(b, 3)
    fake_clock.advance(5.0)
    probe = b.admit()
    fake_clock.advance(1.5)
    b.record(probe, LLMTimeoutError("hung"))
    assert b.state == OPEN
    fake_clock.advance(4.9)
    with pytest.raises(CircuitOpenError):
        b.admit()
    fake_clock.advance(0.1)
    assert b.admit().probe
    assert seen == [(CLOSED, OPEN), (OPEN, HALF_OPEN), (HALF_OPEN, OPEN), (OPEN, HALF_OPEN)]


def test_successful_probe_closes_and_resets_the_counters(fake_clock: FakeClock) -> None:
    """Closed again, a fresh run of failures is needed to trip."""
    b, seen = breaker(fake_clock)
    fail(b, 3)
    fake_clock.advance(5.0)
    b.record(b.admit())
    assert b.state == CLOSED
    assert b.failures == 0
    fail(b, 2)
    assert b.state == CLOSED
    assert seen[-1] == (HALF_OPEN, CLOSED)


def test_cancelled_probe_frees_the_slot_and_leaves_it_half_open(fake_clock: FakeClock) -> None:
    """The next caller becomes the probe."""
    b, _ = breaker(fake_clock)
    fail(b, 3)
    fake_clock.advance(5.0)
    b.record(b.admit(), asyncio.CancelledError())
    assert b.state == HALF_OPEN
    assert b.admit().probe


def test_a_call_started_before_the_trip_cannot_close_the_breaker(fake_clock: FakeClock) -> None:
    """The overhanging call's success is stale: the breaker stays open."""
    b, _ = breaker(fake_clock)
    overhanging = b.admit()
    fail(b, 3)
    b.record(overhanging)
    assert b.state == OPEN
    fake_clock.advance(5.0)
    probe = b.admit()
    b.record(overhanging, BackendError("late 503"))
    assert b.state == HALF_OPEN
    b.record(probe)
    assert b.state == CLOSED


def test_a_failure_from_before_the_trip_does_not_count_after_recovery(
    fake_clock: FakeClock,
) -> None:
    """Once closed again, a late failure of a call admitted in the old period is ignored."""
    b, _ = breaker(fake_clock, threshold=1)
    overhanging = b.admit()
    fail(b)
    fake_clock.advance(5.0)
    b.record(b.admit())
    assert b.state == CLOSED
    b.record(overhanging, BackendError("late 503"))
    assert b.state == CLOSED
    assert b.failures == 0


def test_a_lost_probe_is_replaced_after_its_lease(fake_clock: FakeClock) -> None:
    """A probe that never reports blocks probing only for ``probe_lease`` seconds."""
    b, _ = breaker(fake_clock, probe_lease=4.0)
    fail(b, 3)
    fake_clock.advance(5.0)
    lost = b.admit()
    fake_clock.advance(3.9)
    with pytest.raises(CircuitOpenError):
        b.admit()
    fake_clock.advance(0.1)
    fresh = b.admit()
    assert fresh.probe
    b.record(lost)
    assert b.state == HALF_OPEN  # the lost probe's late success is ignored
    b.record(fresh)
    assert b.state == CLOSED


def test_confirm_rejects_a_queued_call_once_the_breaker_has_tripped(fake_clock: FakeClock) -> None:
    """A ticket from before the trip is re-admitted, which fails while open."""
    b, _ = breaker(fake_clock)
    queued = b.admit()
    assert b.confirm(queued) is queued
    fail(b, 3)
    with pytest.raises(CircuitOpenError):
        b.confirm(queued)


@pytest.mark.parametrize(
    ("exc", "verdict"),
    [
        (None, "success"),
        (asyncio.CancelledError(), "neutral"),
        (SamplingRejectedError("user said no"), "neutral"),
        (BackendError("400", status=400, retryable=False, counts_as_failure=False), "neutral"),
        (InputError("reply failed validation"), "neutral"),
        (CircuitOpenError("open"), "neutral"),
        (DeadlineExceededError("run over"), "neutral"),
        (BackendError("408", status=408), "failure"),
        (RateLimitedError("429", retry_after=3.0), "neutral"),
        (BackendError("500", status=500), "failure"),
        (BackendError("503", status=503), "failure"),
        (LLMTimeoutError("attempt timeout"), "failure"),
        (ConnectionResetError("unexpected library error"), "failure"),
    ],
)
def test_failure_classification_per_class(exc: BaseException | None, verdict: str) -> None:
    """Cancellation, rejection, 4xx (429 too), our errors: not failures; 408/5xx/timeouts are."""
    assert classify(exc) == verdict


async def test_guard_admits_on_entry_and_records_the_exception_on_exit(
    fake_clock: FakeClock,
) -> None:
    """``async with breaker.guard()`` counts a failure raised inside it."""
    b, _ = breaker(fake_clock, threshold=1)
    with pytest.raises(BackendError):
        async with b.guard():
            raise BackendError("503", status=503)
    assert b.state == OPEN
    with pytest.raises(CircuitOpenError):
        async with b.guard():
            pytest.fail("an open breaker must not run the body")


class BreakerMachine(RuleBasedStateMachine):
    """Random admissions, outcomes and time steps against a reference model of the breaker."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock(0.0)
        self.breaker = CircuitBreaker("m", threshold=3, cooldown=5.0, clock=self.clock)
        self.live: list[Ticket] = []
        self.model_failures = 0
        self.opened_at = 0.0

    @rule()
    def admit(self) -> None:
        """Closed admits; open rejects until cooled, then admits one probe; half-open one probe."""
        before = self.breaker.state
        cooled = self.clock() - self.opened_at >= 5.0
        busy = any(t.probe and t.generation == self.breaker.generation for t in self.live)
        expect_probe = (before == OPEN and cooled) or (before == HALF_OPEN and not busy)
        try:
            ticket = self.breaker.admit()
        except CircuitOpenError:
            assert before != CLOSED
            assert not expect_probe
            return
        assert ticket.probe == expect_probe
        assert before == CLOSED or expect_probe
        self.live.append(ticket)

    @precondition(lambda self: bool(self.live))
    @rule(data=st.data(), verdict=st.sampled_from(["success", "failure", "neutral"]))
    def finish(self, data: st.DataObject, verdict: str) -> None:
        """A live call ends; stale tickets change nothing."""
        ticket = self.live.pop(data.draw(st.integers(0, len(self.live) - 1)))
        exc = {
            "success": None,
            "failure": BackendError("503"),
            "neutral": asyncio.CancelledError(),
        }[verdict]
        state, generation = self.breaker.state, self.breaker.generation
        self.breaker.record(ticket, exc)
        if ticket.generation != generation:
            assert (self.breaker.state, self.breaker.generation) == (state, generation)
            return
        self._check_transition(ticket, verdict, state)

    def _check_transition(self, ticket: Ticket, verdict: str, state: str) -> None:
        after = self.breaker.state
        if ticket.probe:
            expected = {"success": CLOSED, "failure": OPEN, "neutral": HALF_OPEN}[verdict]
            assert after == expected
        elif verdict == "failure" and state == CLOSED:
            self.model_failures += 1
            assert after == (OPEN if self.model_failures >= 3 else CLOSED)
        elif verdict == "success":
            self.model_failures = 0
            assert after == state
        if after != state:
            self.model_failures = 0
        if after == OPEN and state != OPEN:
            self.opened_at = self.clock()

    @rule(seconds=st.sampled_from([0.5, 2.0, 5.0, 7.5]))
    def wait(self, seconds: float) -> None:
        """Time passes."""
        self.clock.advance(seconds)

    @invariant()
    def at_most_one_live_probe(self) -> None:
        """Never two probes of the current generation in flight."""
        probes = [t for t in self.live if t.probe and t.generation == self.breaker.generation]
        assert len(probes) <= 1

    @invariant()
    def closed_counts_exactly_the_current_failures(self) -> None:
        """A closed breaker counts the model's consecutive failures, always under the threshold."""
        if self.breaker.state == CLOSED:
            assert self.breaker.failures == self.model_failures < 3


BreakerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_breaker_state_machine = pytest.mark.slow(BreakerMachine.TestCase)


def test_probing_and_the_cooldown_left_follow_the_probe(fake_clock: FakeClock) -> None:
    """Open: the cooldown counts down; half-open: probing until the probe reports."""
    b, _ = breaker(fake_clock)
    fail(b, 3)
    assert (b.probing, b.cooldown_left()) == (False, 5.0)
    fake_clock.advance(3.0)
    assert b.cooldown_left() == pytest.approx(2.0)
    fake_clock.advance(2.0)
    probe = b.admit()
    assert (b.probing, b.cooldown_left()) == (True, 0.0)
    b.record(probe, LLMTimeoutError("hung"))
    assert (b.state, b.probing, b.cooldown_left()) == (OPEN, False, 5.0)
    fake_clock.advance(5.0)
    b.record(b.admit())
    assert (b.state, b.probing, b.cooldown_left()) == (CLOSED, False, 0.0)


def test_a_rate_limited_answer_is_not_a_breaker_failure(fake_clock: FakeClock) -> None:
    """Any number of 429s leave a closed breaker closed and a probe's verdict open."""
    b, _ = breaker(fake_clock)
    for _ in range(10):
        b.record(b.admit(), RateLimitedError("HTTP 429", retry_after=1.0))
    assert (b.state, b.failures) == (CLOSED, 0)
    fail(b, 3)
    fake_clock.advance(5.0)
    b.record(b.admit(), RateLimitedError("HTTP 429"))
    assert (b.state, b.probing) == (HALF_OPEN, False)
