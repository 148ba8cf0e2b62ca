"""The governor: every LLM request of the process goes through ``Governor.call``.

Order per logical call (outer → inner)::

    reply cache → deadline → retry loop (full-jitter backoff, attempts + total-time caps,
    Retry-After) → breaker admission → concurrency slot → rate token → attempt timeout → backend

The slot and the token are taken per attempt and released before any backoff sleep. Breaker
admission comes before queueing, so an open circuit fails fast instead of waiting in line.

Waiting for the breaker (``wait_for_breaker``) spends no attempt: a refused call sleeps out the
cooldown, or waits for the verdict of the probe in flight, and goes again; a probe that fails
sends its carrier back to wait rather than using up its attempts. A call gives up waiting after
seeing as many failed probes as it has tries, at once when the last probe hung until its
timeout (so a hung endpoint does not cost an attempt timeout per area), and never waits past
its deadline. After a successful probe the waiting calls go ahead through the concurrency
slots and rate tokens like any others. HTTP 429
(``RateLimitedError``) is retried after its ``Retry-After`` however long, as long as the call's
deadline allows; a longer ask fails the call at once.
Every attempt emits ``LLMAttempt``; all waiting uses the injected ``clock`` and ``sleep``.
Backends that do no I/O (``local = True``, e.g. offline) bypass breaker, slot, token and cache.
"""

import logging
import random
from collections.abc import AsyncGenerator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio

from webplatform_digest.clock import Clock, monotonic
from webplatform_digest.errors import (
    BackendError,
    CircuitOpenError,
    DeadlineExceededError,
    LLMError,
    LLMTimeoutError,
    RateLimitedError,
    WebplatformError,
)
from webplatform_digest.events import (
    BreakerTransition,
    ConcurrencyChanged,
    LLMAttempt,
    RateLimitWait,
    RetryScheduled,
    Telemetry,
)
from webplatform_digest.llm.breaker import (
    HALF_OPEN,
    OPEN,
    CircuitBreaker,
    Ticket,
    TransitionHook,
)
from webplatform_digest.llm.cache import ReplyCache, reply_key
from webplatform_digest.llm.limiter import RateLimiter
from webplatform_digest.llm.limits import GovernorConfig
from webplatform_digest.llm.port import Backend, LLMReply, LLMRequest
from webplatform_digest.llm.pressure import PressureProbe, ResourceGovernor, system_pressure
from webplatform_digest.llm.timeouts import Sleep, run_within

log = logging.getLogger(__name__)

__all__ = ["Governor", "GovernorConfig"]


#: placeholder ticket of an attempt before admission (never matches a generation)
_UNADMITTED = Ticket(-1)


@dataclass(slots=True)
class _Patience:
    """How much of one call's patience with the breaker is used up."""

    #: probes that failed while the call waited for them (or that it carried)
    failed_probes: int = 0


@dataclass(slots=True)
class _Attempt:
    """Bookkeeping of one attempt, for its telemetry event."""

    number: int
    queued_at: float
    service_at: float | None = None
    ticket: Ticket = _UNADMITTED


class Governor:
    """Deadline, retries, breaker, concurrency, rate limit, timeouts and cache for LLM calls."""

    def __init__(
        self,
        config: GovernorConfig,
        telemetry: Telemetry,
        *,
        clock: Clock = monotonic,
        sleep: Sleep = anyio.sleep,
        cache: ReplyCache | None = None,
        rand: Callable[[], float] = random.random,
        pressure: PressureProbe | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self._telemetry = telemetry
        self._sleep = sleep
        self._cache = cache
        self._rand = rand
        self._breakers: dict[str, CircuitBreaker] = {}
        #: per backend, set (and replaced) when its breaker moves or its probe reports
        self._verdicts: dict[str, anyio.Event] = {}
        #: per backend, whether its last failed probe hung until the attempt timeout
        self._hung: dict[str, bool] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self._slots = anyio.CapacityLimiter(max(1, config.max_concurrency))
        self._peak = 0
        self._resources = ResourceGovernor(
            enabled=config.resource_aware,
            maximum=max(1, config.max_concurrency),
            floor=config.resource_floor,
            cpu_high=config.cpu_high_percent,
            memory_high=config.memory_high_percent,
            clock=clock,
            probe=pressure or system_pressure,
        )

    @property
    def in_flight(self) -> int:
        """Attempts currently holding a concurrency slot."""
        return self._slots.borrowed_tokens

    @property
    def peak_in_flight(self) -> int:
        """The most attempts that held a slot at the same time."""
        return self._peak

    @property
    def effective_limit(self) -> int:
        """The current concurrency limit (lowered under resource pressure)."""
        return int(self._slots.total_tokens)

    @property
    def cache(self) -> ReplyCache | None:
        """The reply cache, if enabled."""
        return self._cache

    def breaker(self, backend: str) -> CircuitBreaker:
        """The circuit breaker of one backend (created on first use)."""
        found = self._breakers.get(backend)
        if found is None:
            found = CircuitBreaker(
                backend,
                threshold=self.config.circuit_threshold,
                cooldown=self.config.failure_cooldown,
                clock=self.clock,
                probe_lease=self.config.attempt_timeout * 2,
                on_transition=self._transition_hook(backend),
            )
            self._breakers[backend] = found
        return found

    def forget(self, backend: Backend, request: LLMRequest) -> None:
        """Drop a cached reply (e.g. one that failed validation) so the next call asks again."""
        if self._cache is not None:
            self._cache.discard(reply_key(backend.name, backend.model, request))

    async def call(
        self,
        backend: Backend,
        request: LLMRequest,
        *,
        use_cache: bool = True,
        deadline: float | None = None,
    ) -> LLMReply:
        """Answer ``request`` through ``backend`` under every limit.

        ``deadline`` is an absolute time on ``self.clock`` (e.g. the run's end); the call never
        runs past it nor past ``call_deadline`` seconds from now. ``use_cache=False`` asks the
        backend even when a reply is cached; the fresh reply then replaces the cached one.

        Raises:
            LLMError: the subclass says why (open circuit, timeout, deadline, backend error, ...).
        """
        if getattr(backend, "local", False):
            return await self._call_local(backend, request)
        cache = self._cache
        key = reply_key(backend.name, backend.model, request) if cache is not None else ""
        if use_cache and cache is not None:
            cached = await cache.get(key, run_id=request.meta.run_id)
            if cached is not None:
                self._emit_attempt(backend, request, _Attempt(0, self.clock()), "cached")
                return cached
        limit = self.clock() + self.config.call_deadline
        if deadline is not None:
            limit = min(limit, deadline)
        reply = await self._with_retries(backend, request, limit)
        if cache is not None:
            # in memory now, on disk soon: no file write between a reply and the next request
            cache.store_later(key, reply)
        return reply

    async def _with_retries(
        self, backend: Backend, request: LLMRequest, deadline: float
    ) -> LLMReply:
        started = self.clock()
        number = 1
        patience = _Patience()
        while True:
            attempt = _Attempt(number, self.clock())
            try:
                return await self._attempt(backend, request, attempt, deadline)
            except LLMError as exc:
                if self._turned_away(attempt, exc):
                    # the breaker's verdict, not this call's: wait with the others, attempt kept
                    if attempt.ticket.probe:
                        patience.failed_probes += 1
                    await self._wait_for_breaker(backend, request, attempt, exc, deadline, patience)
                    continue
                delay = self._retry_delay(exc, number, started, deadline)
                if delay is None:
                    raise
                self._retry_scheduled(backend, request, number, delay, exc)
                await self._sleep(delay)
                number += 1

    def _retry_delay(
        self, exc: LLMError, number: int, started: float, deadline: float
    ) -> float | None:
        if not exc.retryable:
            return None
        policy = self.config.retry
        if isinstance(exc, RateLimitedError):
            # the server said how long it needs: honour it in full, the deadline is the limit
            delay = max(policy.backoff(number, self._rand), exc.retry_after or 0.0)
        else:
            retry_after = exc.retry_after if isinstance(exc, BackendError) else None
            delay = policy.backoff(number, self._rand, retry_after)
        now = self.clock()
        if not policy.may_retry(number, now - started, delay) or now + delay >= deadline:
            return None
        return delay

    def _turned_away(self, attempt: _Attempt, exc: LLMError) -> bool:
        """Refused by our breaker before the backend was called, or carried a probe that failed."""
        if not self.config.wait_for_breaker:
            return False
        if isinstance(exc, CircuitOpenError) and attempt.service_at is None:
            return True
        return attempt.ticket.probe and exc.counts_as_failure

    async def _wait_for_breaker(
        self,
        backend: Backend,
        request: LLMRequest,
        attempt: _Attempt,
        exc: LLMError,
        deadline: float,
        patience: "_Patience",
    ) -> None:
        """Wait until the breaker may admit this call again, or raise ``exc`` (no attempt spent).

        An open breaker: sleep out the cooldown. A probe in flight: wait for its verdict. Raises
        ``exc`` once the call has seen as many failed probes as it has tries, when the last
        probe hung until its timeout (waiting again would cost another attempt timeout), or
        when the deadline would pass first.
        """
        breaker = self.breaker(backend.name)
        if patience.failed_probes >= self.config.retry.attempts or self._hung.get(backend.name):
            raise exc
        if breaker.state == OPEN:
            delay = breaker.cooldown_left()
            if self.clock() + delay >= deadline:
                raise exc
            self._retry_scheduled(backend, request, attempt.number, delay, exc)
            await self._sleep(delay)
        elif breaker.probing:
            verdict = self._verdicts.get(backend.name)
            if verdict is None:
                verdict = self._verdicts[backend.name] = anyio.Event()
            # bounded by the attempt timeout too, in case a probe is lost (its lease then ends)
            budget = min(deadline - self.clock(), self.config.attempt_timeout)
            try:
                await run_within(self._sleep, budget, verdict.wait)
            except TimeoutError:
                if self.clock() >= deadline:
                    raise exc from None
            if breaker.state == OPEN:  # the probe failed, for this call too
                patience.failed_probes += 1

    def _verdict(self, backend: str) -> None:
        """Wake every call waiting for the breaker of ``backend`` (it moved or its probe ended)."""
        event = self._verdicts.pop(backend, None)
        if event is not None:
            event.set()

    def _retry_scheduled(
        self, backend: Backend, request: LLMRequest, number: int, delay: float, exc: LLMError
    ) -> None:
        self._telemetry.emit(
            RetryScheduled(
                backend=backend.name,
                stage=request.meta.stage,
                attempt=number,
                delay_seconds=delay,
                reason=type(exc).__name__,
                run_id=request.meta.run_id,
            )
        )

    async def _attempt(
        self, backend: Backend, request: LLMRequest, attempt: _Attempt, deadline: float
    ) -> LLMReply:
        if attempt.queued_at >= deadline:
            raise DeadlineExceededError("the LLM call deadline passed before the next attempt")
        breaker = self.breaker(backend.name)
        try:
            attempt.ticket = breaker.admit()
        except CircuitOpenError:
            self._emit_attempt(backend, request, attempt, "rejected_open")
            raise
        try:
            reply = await self._admitted(backend, request, attempt, deadline)
        except BaseException as exc:
            self._record(backend.name, attempt.ticket, exc)
            self._emit_attempt(backend, request, attempt, _outcome(exc), exc)
            raise
        self._record(backend.name, attempt.ticket)
        self._emit_attempt(backend, request, attempt, "success")
        return reply

    def _record(self, backend: str, ticket: Ticket, exc: BaseException | None = None) -> None:
        breaker = self.breaker(backend)
        breaker.record(ticket, exc)
        if ticket.probe:
            if breaker.state != HALF_OPEN:  # a verdict (a neutral one leaves it half-open)
                self._hung[backend] = isinstance(exc, LLMTimeoutError)
            self._verdict(backend)  # a neutral verdict moves nothing but frees the probe

    async def _admitted(
        self, backend: Backend, request: LLMRequest, attempt: _Attempt, deadline: float
    ) -> LLMReply:
        self._resources.adjust(self._slots, self._concurrency_changed)
        async with self._slot(deadline):
            await self._rate_token(backend.name, deadline, request.meta.run_id)
            # the breaker may have tripped while this attempt queued: never call after a trip
            attempt.ticket = self.breaker(backend.name).confirm(attempt.ticket)
            attempt.service_at = now = self.clock()
            budget = min(self.config.attempt_timeout, deadline - now)
            cut_by_deadline = budget < self.config.attempt_timeout
            try:
                return await run_within(self._sleep, budget, lambda: _complete(backend, request))
            except TimeoutError:
                if cut_by_deadline:
                    raise DeadlineExceededError("the LLM call deadline passed") from None
                raise LLMTimeoutError(
                    f"LLM backend {backend.name!r} did not answer within "
                    f"{self.config.attempt_timeout:g} s"
                ) from None

    @asynccontextmanager
    async def _slot(self, deadline: float) -> AsyncGenerator[None]:
        borrower = object()
        try:
            self._slots.acquire_on_behalf_of_nowait(borrower)
        except anyio.WouldBlock:
            await self._wait_for_slot(borrower, deadline)
        self._peak = max(self._peak, self._slots.borrowed_tokens)
        self._concurrency_changed()
        try:
            yield
        finally:
            self._slots.release_on_behalf_of(borrower)
            self._concurrency_changed()

    async def _wait_for_slot(self, borrower: object, deadline: float) -> None:
        held: list[bool] = []

        async def take() -> None:
            await self._slots.acquire_on_behalf_of(borrower)
            held.append(True)

        try:
            await run_within(self._sleep, deadline - self.clock(), take)
        except BaseException as exc:
            # a cancellation can land after the slot was granted (while the watchdog is reaped)
            if held:
                self._slots.release_on_behalf_of(borrower)
            if isinstance(exc, TimeoutError):
                raise DeadlineExceededError(
                    "the LLM call deadline passed while waiting for a concurrency slot"
                ) from None
            raise

    async def _rate_token(self, backend: str, deadline: float, run_id: str | None) -> None:
        limiter = self._limiter(backend)
        reservation = limiter.reserve()
        wait = limiter.delay(reservation)
        if wait > 0:
            if self.clock() + wait >= deadline:
                limiter.cancel(reservation)
                raise DeadlineExceededError(
                    "the LLM call deadline would pass waiting for the rate limit"
                )
            try:
                await self._sleep(wait)
            except BaseException:
                limiter.cancel(reservation)
                raise
        self._telemetry.emit(RateLimitWait(backend=backend, seconds=wait, run_id=run_id))

    def _limiter(self, backend: str) -> RateLimiter:
        found = self._limiters.get(backend)
        if found is None:
            found = RateLimiter(self.config.rate_limit, self.config.rate_burst, clock=self.clock)
            self._limiters[backend] = found
        return found

    async def _call_local(self, backend: Backend, request: LLMRequest) -> LLMReply:
        attempt = _Attempt(1, self.clock())
        attempt.service_at = attempt.queued_at
        try:
            reply = await _complete(backend, request)
        except BaseException as exc:
            self._emit_attempt(backend, request, attempt, _outcome(exc), exc)
            raise
        self._emit_attempt(backend, request, attempt, "success")
        return reply

    def _transition_hook(self, backend: str) -> TransitionHook:
        def emit(from_state: str, to_state: str) -> None:
            log.info("circuit for %s: %s -> %s", backend, from_state, to_state)
            self._verdict(backend)
            self._telemetry.emit(
                BreakerTransition(backend=backend, from_state=from_state, to_state=to_state)
            )

        return emit

    def _concurrency_changed(self) -> None:
        self._telemetry.emit(
            ConcurrencyChanged(in_flight=self.in_flight, limit=self.effective_limit)
        )

    def _emit_attempt(
        self,
        backend: Backend,
        request: LLMRequest,
        attempt: _Attempt,
        outcome: str,
        exc: BaseException | None = None,
    ) -> None:
        now = self.clock()
        service_at = attempt.service_at if attempt.service_at is not None else now
        meta = request.meta
        self._telemetry.emit(
            LLMAttempt(
                backend=backend.name,
                stage=meta.stage,
                language=meta.language,
                area=meta.area,
                attempt=attempt.number,
                outcome=outcome,
                wait_seconds=max(0.0, service_at - attempt.queued_at),
                service_seconds=max(0.0, now - service_at),
                error_class="" if exc is None else type(exc).__name__,
                run_id=meta.run_id,
            )
        )


async def _complete(backend: Backend, request: LLMRequest) -> LLMReply:
    """Call the backend; an unexpected exception (a bug) becomes a non-retryable failure."""
    try:
        return await backend.complete(request)
    except WebplatformError:
        raise
    except Exception as exc:
        log.exception("LLM backend %r raised an unexpected error", backend.name)
        raise BackendError(
            f"LLM backend {backend.name!r} failed unexpectedly ({type(exc).__name__})",
            retryable=False,
        ) from exc


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, LLMError):
        return exc.outcome
    return "cancelled" if not isinstance(exc, Exception) else "error"
