"""The governor under faults, concurrency and cancellation (reliability cases 1–9), fake clock."""

from collections.abc import Awaitable, Callable
from dataclasses import replace

import anyio
import pytest

from tests.fakes import HANG, FakeClock, Hang, ScriptedBackend
from tests.llm.support import (
    FAST,
    ask,
    attempts,
    governed,
    leftover_tasks,
    of,
    outcomes,
    product_defaults,
    retrying,
)
from webplatform_digest.configs import governor_config
from webplatform_digest.errors import (
    BackendError,
    CircuitOpenError,
    DeadlineExceededError,
    InputError,
    LLMError,
    LLMTimeoutError,
    RateLimitedError,
    SamplingRejectedError,
)
from webplatform_digest.events import (
    BreakerTransition,
    ConcurrencyChanged,
    RateLimitWait,
    RecordingHook,
    RetryScheduled,
    Telemetry,
)
from webplatform_digest.llm.breaker import CLOSED, HALF_OPEN, OPEN
from webplatform_digest.llm.governor import Governor
from webplatform_digest.llm.offline import OfflineBackend
from webplatform_digest.llm.port import LLMReply, LLMRequest, RequestMeta
from webplatform_digest.settings import load_settings


def unavailable() -> BackendError:
    """An HTTP 503."""
    return BackendError("HTTP 503", status=503)


async def gather(calls: list[Callable[[], Awaitable[object]]]) -> list[object]:
    """Run the calls concurrently; each result is its value or the exception it raised."""
    results: list[object] = [None] * len(calls)

    async def run(i: int) -> None:
        try:
            results[i] = await calls[i]()
        except LLMError as exc:
            results[i] = exc

    async with anyio.create_task_group() as group:
        for i in range(len(calls)):
            group.start_soon(run, i)
    return results


async def trip(governor: Governor, clock: FakeClock) -> None:
    """Open the scripted backend's breaker with three failures."""
    down = ScriptedBackend(steps=[unavailable()] * 3, clock=clock)
    for _ in range(3):
        with pytest.raises(BackendError):
            await governor.call(down, ask())
    assert governor.breaker("scripted").state == OPEN


# Case 1 ---------------------------------------------------------------------------------------


async def test_breaker_trips_after_three_failures_and_the_fourth_never_reaches_the_backend(
    fake_clock: FakeClock,
) -> None:
    """Three 503s open the circuit; the 4th call fails fast and the backend sees nothing."""
    governor, hook = governed(fake_clock)
    backend = ScriptedBackend(steps=[unavailable(), unavailable(), unavailable(), "never"])
    for _ in range(3):
        with pytest.raises(BackendError):
            await governor.call(backend, ask())
    before = fake_clock()
    with pytest.raises(CircuitOpenError):
        await governor.call(backend, ask())
    assert len(backend.calls) == 3
    assert fake_clock() == before
    assert outcomes(hook) == ["error", "error", "error", "rejected_open"]
    transitions = of(hook, BreakerTransition)
    assert [(t.from_state, t.to_state) for t in transitions] == [(CLOSED, OPEN)]


# Case 2 ---------------------------------------------------------------------------------------


async def test_half_open_lets_exactly_one_of_ten_concurrent_calls_probe(
    fake_clock: FakeClock,
) -> None:
    """After the cooldown, ten concurrent calls: one probe reaches the backend, nine fail fast."""
    governor, hook = governed(fake_clock, max_concurrency=10)
    await trip(governor, fake_clock)
    await fake_clock.sleep(5.0)
    slow_ok = ScriptedBackend(steps=["fine"] * 10, clock=fake_clock, latency=1.0)
    results = await gather([lambda: governor.call(slow_ok, ask()) for _ in range(10)])
    assert len(slow_ok.calls) == 1
    assert sum(isinstance(r, CircuitOpenError) for r in results) == 9
    assert [r.text for r in results if isinstance(r, LLMReply)] == ["fine"]
    assert governor.breaker("scripted").state == CLOSED
    assert outcomes(hook).count("rejected_open") == 9


# Case 3 ---------------------------------------------------------------------------------------


async def test_failed_probe_reopens_the_circuit_for_a_fresh_cooldown(fake_clock: FakeClock) -> None:
    """Probe fails → open again; 4.9 s later still rejected, 5 s later a new probe runs."""
    governor, hook = governed(fake_clock)
    await trip(governor, fake_clock)
    await fake_clock.sleep(5.0)
    backend = ScriptedBackend(steps=[unavailable(), "recovered"])
    with pytest.raises(BackendError):
        await governor.call(backend, ask())
    assert governor.breaker("scripted").state == OPEN
    await fake_clock.sleep(4.9)
    with pytest.raises(CircuitOpenError):
        await governor.call(backend, ask())
    await fake_clock.sleep(0.1)
    assert (await governor.call(backend, ask())).text == "recovered"
    states = [(t.from_state, t.to_state) for t in of(hook, BreakerTransition)]
    assert states == [
        (CLOSED, OPEN),
        (OPEN, HALF_OPEN),
        (HALF_OPEN, OPEN),
        (OPEN, HALF_OPEN),
        (HALF_OPEN, CLOSED),
    ]


async def test_cancelled_probe_releases_its_slot_and_the_circuit_stays_half_open(
    fake_clock: FakeClock,
) -> None:
    """Cancelling the probe mid-call: still half-open, and the next caller probes."""
    governor, hook = governed(fake_clock)
    await trip(governor, fake_clock)
    await fake_clock.sleep(5.0)
    slow = ScriptedBackend(steps=["answer"], clock=fake_clock, latency=1.5)
    async with anyio.create_task_group() as group:
        group.start_soon(governor.call, slow, ask())
        await fake_clock.sleep(0.5)
        group.cancel_scope.cancel()
    assert governor.breaker("scripted").state == HALF_OPEN
    assert governor.in_flight == 0
    assert outcomes(hook)[-1] == "cancelled"
    assert (await governor.call(slow, ask())).text == "answer"
    assert len(slow.calls) == 2
    assert governor.breaker("scripted").state == CLOSED


async def test_a_call_started_before_the_trip_cannot_close_the_circuit(
    fake_clock: FakeClock,
) -> None:
    """An overhanging slow success that finishes after the trip leaves the circuit open."""
    governor, _ = governed(fake_clock, attempt_timeout=10.0)
    overhanging = ScriptedBackend(steps=["slow but fine"], clock=fake_clock, latency=4.0)
    async with anyio.create_task_group() as group:
        group.start_soon(governor.call, overhanging, ask())
        await fake_clock.sleep(1.0)
        await trip(governor, fake_clock)
    assert fake_clock.now >= 1004.0
    assert governor.breaker("scripted").state == OPEN


async def test_a_hanging_probe_is_cut_at_the_attempt_timeout_and_reopens(
    fake_clock: FakeClock,
) -> None:
    """The probe hangs: after 2 s it times out, counts as a failure, the circuit reopens."""
    governor, hook = governed(fake_clock)
    await trip(governor, fake_clock)
    await fake_clock.sleep(5.0)
    started = fake_clock()
    with pytest.raises(LLMTimeoutError):
        await governor.call(ScriptedBackend(steps=[HANG]), ask())
    assert fake_clock() - started == pytest.approx(2.0)
    assert governor.breaker("scripted").state == OPEN
    assert attempts(hook)[-1].service_seconds == pytest.approx(2.0)


# Case 4 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "counted"),
    [
        (SamplingRejectedError("the user declined"), False),
        (BackendError("HTTP 400", status=400, retryable=False, counts_as_failure=False), False),
        (InputError("reply failed validation"), False),
        (BackendError("HTTP 408", status=408), True),
        (BackendError("HTTP 429", status=429), True),
        (BackendError("HTTP 500", status=500), True),
        (unavailable(), True),
        (LLMTimeoutError("read timeout"), True),
    ],
)
async def test_only_backend_faults_count_as_breaker_failures(
    fake_clock: FakeClock, error: Exception, counted: bool
) -> None:
    """Rejections, 4xx and our validation errors leave the failure counter alone."""
    governor, _ = governed(fake_clock)
    with pytest.raises(type(error)):
        await governor.call(ScriptedBackend(steps=[error]), ask())
    assert governor.breaker("scripted").failures == int(counted)


async def test_a_cancelled_call_is_not_a_breaker_failure(fake_clock: FakeClock) -> None:
    """A client cancellation mid-call: counter unchanged, outcome ``cancelled``, slot returned."""
    governor, hook = governed(fake_clock)
    async with anyio.create_task_group() as group:
        group.start_soon(governor.call, ScriptedBackend(steps=[HANG]), ask())
        await fake_clock.sleep(0.5)
        group.cancel_scope.cancel()
    assert governor.breaker("scripted").failures == 0
    assert outcomes(hook) == ["cancelled"]
    assert governor.in_flight == 0


# Case 5 ---------------------------------------------------------------------------------------


async def test_a_hanging_backend_is_cut_per_attempt_and_the_call_ends_by_its_deadline(
    fake_clock: FakeClock,
) -> None:
    """Timeout 2 s, deadline 10 s: every attempt cut at 2 s, error by 10 s, no tasks left."""
    governor, hook = governed(
        fake_clock, circuit_threshold=100, call_deadline=10.0, retry=retrying(50, cap=1.0)
    )
    hanging = ScriptedBackend(steps=[HANG] * 50)
    started = fake_clock()
    with pytest.raises((DeadlineExceededError, LLMTimeoutError)):
        await governor.call(hanging, ask())
    assert fake_clock() - started <= 10.0
    cut = attempts(hook)
    assert len(cut) >= 4
    assert all(a.outcome == "timeout" for a in cut)
    assert [round(a.service_seconds, 6) for a in cut[:-1]] == [2.0] * (len(cut) - 1)
    assert cut[-1].service_seconds <= 2.0
    await fake_clock.quiesce()
    assert leftover_tasks(fake_clock) == []
    assert governor.in_flight == 0


async def test_an_explicit_deadline_cuts_a_slow_call(fake_clock: FakeClock) -> None:
    """``deadline`` (absolute, governor clock) shortens the attempt: DeadlineExceededError."""
    governor, hook = governed(fake_clock, attempt_timeout=30.0)
    slow = ScriptedBackend(steps=["too late"], clock=fake_clock, latency=5.0)
    with pytest.raises(DeadlineExceededError):
        await governor.call(slow, ask(), deadline=fake_clock() + 3.0)
    assert fake_clock.now == pytest.approx(1003.0)
    assert governor.breaker("scripted").failures == 0
    assert outcomes(hook) == ["timeout"]


async def test_a_call_past_its_deadline_never_reaches_the_backend(fake_clock: FakeClock) -> None:
    """A deadline already in the past fails at once."""
    governor, _ = governed(fake_clock)
    backend = ScriptedBackend(steps=["unused"])
    with pytest.raises(DeadlineExceededError):
        await governor.call(backend, ask(), deadline=fake_clock() - 1.0)
    assert backend.calls == []


# Case 6 ---------------------------------------------------------------------------------------


async def test_two_503s_then_success_succeeds_on_the_third_attempt(fake_clock: FakeClock) -> None:
    """Retried with jittered backoff within the caps."""
    governor, hook = governed(fake_clock, retry=retrying(3))
    backend = ScriptedBackend(steps=[unavailable(), unavailable(), "third time"])
    started = fake_clock()
    reply = await governor.call(backend, ask())
    assert reply.text == "third time"
    assert outcomes(hook) == ["error", "error", "success"]
    delays = [r.delay_seconds for r in of(hook, RetryScheduled)]
    assert len(delays) == 2
    assert 0.0 <= delays[0] <= 0.5
    assert 0.0 <= delays[1] <= 1.0
    assert fake_clock() - started == pytest.approx(sum(delays))


async def test_a_400_is_tried_once(fake_clock: FakeClock) -> None:
    """A client error is not retried."""
    governor, hook = governed(fake_clock, retry=retrying(3))
    bad_request = BackendError("HTTP 400", status=400, retryable=False, counts_as_failure=False)
    backend = ScriptedBackend(steps=[bad_request, "unused"])
    with pytest.raises(BackendError):
        await governor.call(backend, ask())
    assert len(backend.calls) == 1
    assert of(hook, RetryScheduled) == []


@pytest.mark.parametrize(("retry_after", "waited"), [(3.0, 3.0), (60.0, 8.0)])
async def test_retry_after_is_honoured_and_capped(
    fake_clock: FakeClock, retry_after: float, waited: float
) -> None:
    """503 with Retry-After 3 waits 3 s; 60 is capped at ``retry_max_delay`` (8 s)."""
    governor, _ = governed(fake_clock, retry=retrying(2, cap=8.0))
    limited = BackendError("HTTP 503", status=503, retry_after=retry_after)
    backend = ScriptedBackend(steps=[limited, "ok"])
    started = fake_clock()
    assert (await governor.call(backend, ask())).text == "ok"
    assert fake_clock() - started == pytest.approx(waited)


async def test_retries_stop_when_the_backoff_would_pass_the_deadline(fake_clock: FakeClock) -> None:
    """No backoff sleep that ends past the deadline: fail with the last error instead."""
    governor, _ = governed(fake_clock, retry=retrying(5))
    limited = BackendError("HTTP 503", status=503, retry_after=6.0)
    backend = ScriptedBackend(steps=[limited, "unused"])
    with pytest.raises(BackendError):
        await governor.call(backend, ask(), deadline=fake_clock() + 5.0)
    assert len(backend.calls) == 1


async def test_no_slot_is_held_during_backoff(fake_clock: FakeClock) -> None:
    """Concurrency 1: while A backs off, B gets the slot and finishes first."""
    governor, _ = governed(fake_clock, max_concurrency=1, retry=retrying(2, base=4.0))
    finished: list[str] = []
    a = ScriptedBackend(steps=[unavailable(), "a"], name="a")
    b = ScriptedBackend(steps=["b"], name="b")

    async def call(backend: ScriptedBackend) -> None:
        finished.append((await governor.call(backend, ask())).text)

    async with anyio.create_task_group() as group:
        group.start_soon(call, a)
        await fake_clock.sleep(0.1)
        group.start_soon(call, b)
    assert finished == ["b", "a"]


# Case 7 ---------------------------------------------------------------------------------------


async def test_total_outage_of_twenty_calls_costs_at_most_threshold_plus_probes(
    fake_clock: FakeClock,
) -> None:
    """Default limits, 20 concurrent areas, backend down: no call after the trip but probes."""
    config = governor_config(load_settings())
    governor, hook = governed(fake_clock, config)
    states_at_call: list[str] = []

    def down(request: LLMRequest) -> Exception:
        states_at_call.append(governor.breaker("scripted").state)
        return unavailable()

    backend = ScriptedBackend(script=down, clock=fake_clock, latency=0.1)
    results = await gather([lambda: governor.call(backend, ask()) for _ in range(20)])
    assert all(isinstance(r, LLMError) for r in results)
    probes = sum(1 for e in of(hook, BreakerTransition) if e.to_state == HALF_OPEN)
    assert states_at_call[:3] == [CLOSED] * 3
    assert states_at_call[3:] == [HALF_OPEN] * probes
    assert len(backend.calls) <= config.circuit_threshold + probes
    amplification = len(backend.calls) / 20  # reported by bench_governor
    assert amplification <= (config.circuit_threshold + probes) / 20


# Case 8 ---------------------------------------------------------------------------------------


async def test_governed_calls_respect_the_rate_limit_at_concurrency_eight(
    fake_clock: FakeClock,
) -> None:
    """2/s at concurrency 8 (the predecessor let 10/s through): ≤ 2 + 1 per 1 s window."""
    governor, hook = governed(fake_clock, max_concurrency=8, rate_limit=2.0, rate_burst=1)
    started: list[float] = []

    def record(request: LLMRequest) -> LLMReply:
        started.append(fake_clock())
        return LLMReply(text="ok")

    backend = ScriptedBackend(script=record, clock=fake_clock, latency=0.3)
    await gather([lambda: governor.call(backend, ask()) for _ in range(40)])
    assert len(started) == 40
    ordered = sorted(started)
    windows = [sum(1 for t in ordered if s <= t <= s + 1.0) for s in ordered]
    assert max(windows) <= 3
    assert (40 - 1) / (ordered[-1] - ordered[0]) == pytest.approx(2.0, rel=0.05)
    assert max(w.seconds for w in of(hook, RateLimitWait)) > 0


# Case 9 ---------------------------------------------------------------------------------------


async def test_cancelling_half_the_waiters_leaks_no_permits(fake_clock: FakeClock) -> None:
    """Limit 4, 50 callers, half the 46 waiting cancelled: peak 4, others finish, 0 borrowed."""
    governor, _ = governed(fake_clock, max_concurrency=4)
    backend = ScriptedBackend(script=lambda r: LLMReply(text="ok"), clock=fake_clock, latency=1.0)
    scopes = [anyio.CancelScope() for _ in range(50)]
    done: list[int] = []

    async def caller(i: int) -> None:
        with scopes[i]:
            await governor.call(backend, ask(f"area {i}"))
            done.append(i)

    cancelled: set[int] = set()
    async with anyio.create_task_group() as group:
        for i in range(50):
            group.start_soon(caller, i)
        await fake_clock.sleep(0.5)
        assert governor.in_flight == 4
        served = {int(r.messages[0].text.split()[-1]) for r in backend.calls}
        waiting = [i for i in range(50) if i not in served]
        cancelled = set(waiting[::2])
        for i in cancelled:
            scopes[i].cancel()
    assert len(cancelled) == 23
    assert governor.peak_in_flight == 4
    assert backend.peak == 4
    assert sorted(done) == sorted(set(range(50)) - cancelled)
    assert governor.in_flight == 0
    assert governor.effective_limit == 4


# Other behaviour ------------------------------------------------------------------------------


async def test_concurrency_switched_off_means_one_call_at_a_time(
    fake_clock: FakeClock,
) -> None:
    """``concurrency_enabled=False`` → effective limit 1."""
    config = governor_config(
        load_settings(concurrency_enabled=False, rate_limit=1000, rate_burst=100)
    )
    governor, _ = governed(fake_clock, config)
    backend = ScriptedBackend(script=lambda r: LLMReply(text="ok"), clock=fake_clock, latency=1.0)
    await gather([lambda: governor.call(backend, ask()) for _ in range(6)])
    assert governor.effective_limit == 1
    assert backend.peak == 1


async def test_concurrency_events_report_in_flight_and_limit(fake_clock: FakeClock) -> None:
    """Each slot taken and returned is visible."""
    governor, hook = governed(fake_clock)
    await governor.call(ScriptedBackend(steps=["ok"]), ask())
    seen = [(e.in_flight, e.limit) for e in of(hook, ConcurrencyChanged)]
    assert seen == [(1, 4), (0, 4)]


async def test_resource_pressure_lowers_the_limit_to_the_floor_and_relief_restores_it(
    fake_clock: FakeClock,
) -> None:
    """CPU at 95 %: 4 → 2 → 1 (floor); calm again: back up one step per sample."""
    readings = [(95.0, 10.0), (95.0, 10.0), (95.0, 10.0), (10.0, 10.0), (10.0, 10.0)]
    hook = RecordingHook()
    governor = Governor(
        replace(FAST, resource_aware=True, resource_floor=1),
        Telemetry((hook,)),
        clock=fake_clock,
        sleep=fake_clock.sleep,
        pressure=lambda: readings.pop(0),
    )
    limits: list[int] = []
    for _ in range(5):
        await governor.call(ScriptedBackend(steps=["ok"]), ask())
        limits.append(governor.effective_limit)
        await fake_clock.sleep(1.0)
    assert limits == [2, 1, 1, 2, 3]
    assert [e.limit for e in of(hook, ConcurrencyChanged)][:2] == [2, 2]


async def test_resource_mode_is_off_by_default(fake_clock: FakeClock) -> None:
    """Without ``resource_aware`` the probe is never consulted."""

    def probe() -> tuple[float, float]:
        raise AssertionError("sampled although resource-aware mode is off")

    governor = Governor(FAST, Telemetry(), clock=fake_clock, sleep=fake_clock.sleep, pressure=probe)
    await governor.call(ScriptedBackend(steps=["ok"]), ask())
    assert governor.effective_limit == 4


async def test_offline_backend_bypasses_every_limit(fake_clock: FakeClock) -> None:
    """No rate wait, slot or breaker for a backend without I/O; the event still says success."""
    governor, hook = governed(fake_clock, rate_limit=0.1, rate_burst=1)
    request = LLMRequest(system="", messages=(), meta=RequestMeta(fallback="Deterministic."))
    for _ in range(5):
        assert (await governor.call(OfflineBackend(), request)).text == "Deterministic."
    assert fake_clock.sleeps == []
    assert outcomes(hook) == ["success"] * 5
    assert of(hook, ConcurrencyChanged) == []


async def test_an_unexpected_backend_exception_becomes_a_non_retried_failure(
    fake_clock: FakeClock,
) -> None:
    """A bug in a backend surfaces as BackendError, counted by the breaker, not retried."""
    governor, _ = governed(fake_clock, retry=retrying(3))
    backend = ScriptedBackend(steps=[KeyError("choices"), "unused"])
    with pytest.raises(BackendError, match="KeyError"):
        await governor.call(backend, ask())
    assert len(backend.calls) == 1
    assert governor.breaker("scripted").failures == 1


async def test_every_attempt_event_carries_the_request_labels_and_timings(
    fake_clock: FakeClock,
) -> None:
    """Backend, stage, language, area, run id, attempt number, wait and service seconds."""
    governor, hook = governed(fake_clock, rate_limit=1.0, rate_burst=1, retry=retrying(2))
    backend = ScriptedBackend(steps=[unavailable(), "ok"], clock=fake_clock, latency=0.25)
    await governor.call(backend, ask())
    first, second = attempts(hook)
    assert (first.backend, first.stage, first.language, first.area, first.run_id) == (
        "scripted",
        "english_generation",
        "en",
        "css",
        "r1",
    )
    assert (first.attempt, first.outcome, first.error_class) == (1, "error", "BackendError")
    assert (second.attempt, second.outcome) == (2, "success")
    assert first.service_seconds == pytest.approx(0.25)
    assert second.wait_seconds > 0  # waited for the rate token after the quick retry


async def test_waiting_for_a_slot_is_bounded_by_the_deadline(fake_clock: FakeClock) -> None:
    """Concurrency 1 held by a slow call: a second call gives up at its deadline."""
    governor, hook = governed(fake_clock, max_concurrency=1, attempt_timeout=30.0)
    slow = ScriptedBackend(steps=["slow"], clock=fake_clock, latency=20.0)
    waiting = ScriptedBackend(steps=["unused"], name="other")
    async with anyio.create_task_group() as group:
        group.start_soon(governor.call, slow, ask())
        await fake_clock.sleep(1.0)
        with pytest.raises(DeadlineExceededError, match="concurrency slot"):
            await governor.call(waiting, ask(), deadline=fake_clock() + 3.0)
        assert fake_clock.now == pytest.approx(1004.0)
        assert governor.in_flight == 1
    assert waiting.calls == []
    assert governor.in_flight == 0
    assert outcomes(hook) == ["timeout", "success"]


@pytest.mark.parametrize("cancel_after", [0.0, 0.5, 0.999, 1.0, 1.5, 2.0, 2.5])
async def test_cancellation_at_any_moment_leaks_nothing(
    fake_clock: FakeClock, cancel_after: float
) -> None:
    """Callers cancelled while queued, sleeping for a token or in the backend: 0 borrowed."""
    governor, _ = governed(fake_clock, max_concurrency=2, rate_limit=4.0, rate_burst=1)
    backend = ScriptedBackend(script=lambda r: LLMReply(text="ok"), clock=fake_clock, latency=1.0)
    async with anyio.create_task_group() as group:
        for i in range(8):
            group.start_soon(governor.call, backend, ask(str(i)))
        await fake_clock.sleep(cancel_after)
        group.cancel_scope.cancel()
    assert governor.in_flight == 0
    assert governor.breaker("scripted").state == CLOSED
    await fake_clock.quiesce()
    assert leftover_tasks(fake_clock) == []


# Waiting for the breaker ----------------------------------------------------------------------


async def test_a_call_refused_by_an_open_breaker_waits_out_the_cooldown_then_probes(
    fake_clock: FakeClock,
) -> None:
    """With wait_for_breaker, a refused call sleeps the rest of the cooldown and succeeds."""
    governor, hook = governed(fake_clock, wait_for_breaker=True, retry=retrying(3))
    down = ScriptedBackend(steps=[unavailable()] * 3, clock=fake_clock)
    with pytest.raises(BackendError):
        await governor.call(down, ask())  # three attempts, three failures: the circuit opens
    assert governor.breaker("scripted").state == OPEN
    await fake_clock.sleep(2.0)
    before = fake_clock()
    backend = ScriptedBackend(steps=["recovered"], clock=fake_clock)
    reply = await governor.call(backend, ask())
    assert reply.text == "recovered"
    assert fake_clock() - before == pytest.approx(3.0)
    assert outcomes(hook)[-2:] == ["rejected_open", "success"]
    assert governor.breaker("scripted").state == CLOSED


async def test_waiting_for_the_breaker_keeps_a_total_outage_to_one_probe_per_cooldown(
    fake_clock: FakeClock,
) -> None:
    """Ten calls against a dead backend: backend calls ≤ threshold + one probe per cooldown."""
    governor, _ = governed(fake_clock, wait_for_breaker=True, retry=retrying(3, base=0.5, cap=8.0))
    dead = ScriptedBackend(script=lambda request: unavailable(), clock=fake_clock)
    started = fake_clock()
    results = await gather([lambda: governor.call(dead, ask()) for _ in range(10)])
    cooldowns = (fake_clock() - started) / FAST.failure_cooldown
    assert all(isinstance(r, LLMError) for r in results)
    assert len(dead.calls) <= FAST.circuit_threshold + int(cooldowns) + 1


def test_settings_make_the_governor_wait_for_the_breaker_by_default() -> None:
    """The product default waits; WEBPLATFORM_BREAKER_WAIT=false restores fail-fast."""
    assert governor_config(load_settings()).wait_for_breaker is True
    assert governor_config(load_settings(breaker_wait=False)).wait_for_breaker is False


# Hiccups cost time, not digests ---------------------------------------------------------------


async def pool(calls: list[Callable[[], Awaitable[object]]], workers: int) -> list[object]:
    """Run the calls ``workers`` at a time, each next one as a worker frees (as a run does)."""
    results: list[object] = [None] * len(calls)
    queue = iter(range(len(calls)))

    async def worker() -> None:
        for i in queue:
            try:
                results[i] = await calls[i]()
            except LLMError as exc:
                results[i] = exc

    async with anyio.create_task_group() as group:
        for _ in range(workers):
            group.start_soon(worker)
    return results


async def test_a_refused_call_does_not_spend_an_attempt(fake_clock: FakeClock) -> None:
    """No retries at all: refused by the open breaker, the call waits and its one attempt wins."""
    governor, hook = governed(fake_clock, wait_for_breaker=True)  # one attempt per call
    await trip(governor, fake_clock)
    backend = ScriptedBackend(steps=["recovered"], clock=fake_clock)
    assert (await governor.call(backend, ask())).text == "recovered"
    assert [(e.attempt, e.outcome) for e in attempts(hook)[-2:]] == [
        (1, "rejected_open"),
        (1, "success"),
    ]


async def test_a_successful_probe_releases_the_waiting_calls_up_to_the_concurrency_limit(
    fake_clock: FakeClock,
) -> None:
    """Ten calls wait on an open breaker: the probe goes alone, then the rest four at a time."""
    governor, _ = governed(fake_clock, wait_for_breaker=True, max_concurrency=4)
    await trip(governor, fake_clock)
    opened = fake_clock()
    states: list[str] = []

    def fine(request: LLMRequest) -> str:
        states.append(governor.breaker("scripted").state)
        return "fine"

    backend = ScriptedBackend(script=fine, clock=fake_clock, latency=1.0)
    results = await gather([lambda: governor.call(backend, ask()) for _ in range(10)])
    assert [r.text for r in results if isinstance(r, LLMReply)] == ["fine"] * 10
    assert states == [HALF_OPEN] + [CLOSED] * 9
    assert backend.peak == 4
    # cooldown 5 s, the probe 1 s, then 9 calls 4 at a time (3 rounds of 1 s)
    assert fake_clock() - opened == pytest.approx(5.0 + 1.0 + 3.0)


async def test_a_failed_probe_costs_the_waiting_calls_no_attempt(fake_clock: FakeClock) -> None:
    """Default limits, four calls, 503s for 6.5 s: the probe at ~6 s fails, every call succeeds."""
    governor, hook = governed(fake_clock, product_defaults())
    start = fake_clock()

    def window(request: LLMRequest) -> str | Exception:
        return unavailable() if fake_clock() - start < 6.5 else "fine"

    backend = ScriptedBackend(script=window, clock=fake_clock)
    results = await gather([lambda: governor.call(backend, ask()) for _ in range(4)])
    assert [r.text for r in results if isinstance(r, LLMReply)] == ["fine"] * 4
    assert outcomes(hook).count("error") == 4  # three before the trip, one failed probe
    assert governor.breaker("scripted").state == CLOSED


async def test_a_waiting_call_gives_up_after_as_many_failed_probes_as_it_has_tries(
    fake_clock: FakeClock,
) -> None:
    """Default limits (3 tries), a dead backend: four calls wait through three failed probes,
    one per cooldown, then fail; the backend saw the three trip failures and the probes only."""
    config = product_defaults()
    governor, _ = governed(fake_clock, config)
    states: list[str] = []

    def down(request: LLMRequest) -> Exception:
        states.append(governor.breaker("scripted").state)
        return unavailable()

    dead = ScriptedBackend(script=down, clock=fake_clock)
    start = fake_clock()
    results = await gather([lambda: governor.call(dead, ask()) for _ in range(4)])
    assert all(isinstance(r, LLMError) for r in results)
    tries = config.retry.attempts
    assert states == [CLOSED] * config.circuit_threshold + [HALF_OPEN] * tries
    # tripped by 1 s (three requests at 2/s), then one probe per 5 s cooldown
    assert fake_clock() - start == pytest.approx(1.0 + tries * config.failure_cooldown)


async def test_a_hung_endpoint_opens_the_breaker_after_threshold_timeouts(
    fake_clock: FakeClock,
) -> None:
    """Default limits, twelve areas four at a time, every request hangs: three 120 s timeouts
    open the breaker, the first hung probe ends the wait, the rest fail at once, not 120 s each."""
    config = product_defaults()
    governor, hook = governed(fake_clock, config)
    states: list[str] = []

    def hang(request: LLMRequest) -> Hang:
        states.append(governor.breaker("scripted").state)
        return HANG

    hung = ScriptedBackend(script=hang, clock=fake_clock)
    start = fake_clock()
    ended: list[float] = []

    async def call() -> object:
        try:
            return await governor.call(hung, ask())
        finally:
            ended.append(fake_clock() - start)

    results = await pool([call] * 12, workers=4)
    assert all(isinstance(r, LLMError) for r in results)
    transitions = [(t.from_state, t.to_state) for t in of(hook, BreakerTransition)]
    assert transitions[0] == (CLOSED, OPEN)
    assert outcomes(hook)[:3] == ["timeout"] * 3
    # after the trip only the probes reach the backend (retries admitted before it may overhang)
    assert states[states.index(HALF_OPEN) :] == [HALF_OPEN]
    timeout = config.attempt_timeout
    assert max(ended) == pytest.approx(2 * timeout + config.failure_cooldown, abs=2.0)
    assert len({round(t, 3) for t in ended[4:]}) == 1  # the last eight ended together, at once


async def test_a_429_is_labelled_rate_limited_and_never_opens_the_breaker(
    fake_clock: FakeClock,
) -> None:
    """Ten 429s in a row: ten ``rate_limited`` attempts, the breaker stays closed."""
    governor, hook = governed(fake_clock)
    busy = ScriptedBackend(script=lambda request: RateLimitedError("HTTP 429"))
    for _ in range(10):
        with pytest.raises(RateLimitedError):
            await governor.call(busy, ask())
    assert outcomes(hook) == ["rate_limited"] * 10
    assert governor.breaker("scripted").state == CLOSED
    assert len(busy.calls) == 10


async def test_a_429_retry_after_is_honoured_past_the_backoff_cap(fake_clock: FakeClock) -> None:
    """``Retry-After: 30`` waits 30 s (the 8 s backoff cap does not cut it), then succeeds."""
    governor, hook = governed(fake_clock, product_defaults())
    busy = ScriptedBackend(steps=[RateLimitedError("HTTP 429", retry_after=30.0), "done"])
    started = fake_clock()
    assert (await governor.call(busy, ask())).text == "done"
    assert fake_clock() - started == pytest.approx(30.0)
    assert [e.reason for e in of(hook, RetryScheduled)] == ["RateLimitedError"]


async def test_a_429_retry_after_past_the_deadline_fails_the_call_at_once(
    fake_clock: FakeClock,
) -> None:
    """``Retry-After: 3600`` with a 600 s call deadline: no pointless wait, no second request."""
    governor, _ = governed(fake_clock, product_defaults())
    busy = ScriptedBackend(steps=[RateLimitedError("HTTP 429", retry_after=3600.0), "unused"])
    started = fake_clock()
    with pytest.raises(RateLimitedError):
        await governor.call(busy, ask())
    assert fake_clock() == started
    assert len(busy.calls) == 1
