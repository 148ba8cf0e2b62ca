"""The input-required driver (protocol 2026-07-28): a digest run driven in rounds by the client.

``start_rounds`` registers the run and returns its first ``Round``: the ready requests (at most
``max_concurrency``; cache hits are answered on the spot) and a fresh single-use token. Each
``advance_rounds`` call spends the token, feeds the client's replies, writes finished areas and
returns the next round or the final summary. The run lives in the registry between calls, so a
restart or another process can continue it. The MCP conversion belongs to the server.
"""

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

import anyio

from webplatform_digest.digest.machine import Failure, PendingRequest
from webplatform_digest.digest.plan import RunPlan
from webplatform_digest.digest.state import RunLimits, first_leaf, rejected
from webplatform_digest.events import LLMAttempt
from webplatform_digest.llm.cache import reply_key
from webplatform_digest.llm.port import LLMReply, LLMRequest
from webplatform_digest.runs.registry import RunStatus
from webplatform_digest.runs.session import (
    ProgressSink,
    Round,
    RunServices,
    RunSession,
    open_run,
    resumed_session,
    stored_session,
)
from webplatform_digest.runs.summary import RunSummary

log = logging.getLogger(__name__)

#: label of replies that came from the client in the input-required flow
CLIENT_BACKEND = "sampling"


class ReplyStore(Protocol):
    """Reply cache access for the input-required flow (``llm.cache.ReplyCache``)."""

    async def get(self, key: str, *, run_id: str | None = None) -> LLMReply | None:
        """A cached reply, or None."""
        ...

    async def put(self, key: str, reply: LLMReply) -> None:
        """Remember a reply."""
        ...


async def start_rounds(
    services: RunServices,
    plan: RunPlan,
    *,
    limits: RunLimits,
    use_cache: bool = True,
    cache: ReplyStore | None = None,
    params: Mapping[str, Any] | None = None,
    on_progress: ProgressSink | None = None,
) -> Round | RunSummary:
    """Register a run driven by the client and return its first round (or, if every request
    was answered from the cache, the final summary)."""
    session = open_run(
        services,
        plan,
        backend=CLIENT_BACKEND,
        timer=services.wall,
        use_cache=use_cache,
        params=params,
        on_progress=on_progress,
    )
    await session.report_progress()
    return await _next_round(session, 1, limits, cache, session.finished_areas())


async def resume_rounds(
    services: RunServices,
    run_id: str,
    *,
    limits: RunLimits,
    cache: ReplyStore | None = None,
    on_progress: ProgressSink | None = None,
) -> Round | RunSummary:
    """Continue an interrupted run as client-driven rounds (its lost requests are asked again).

    Raises:
        NotFoundError: unknown run. RunStateError: the run is not interrupted.
    """
    session = resumed_session(
        services, run_id, CLIENT_BACKEND, timer=services.wall, on_progress=on_progress
    )
    await session.report_progress()
    round_number = services.registry.get(run_id).round + 1
    return await _next_round(session, round_number, limits, cache, session.finished_areas())


async def advance_rounds(
    services: RunServices,
    run_id: str,
    token: str,
    replies: Mapping[str, LLMReply | Failure],
    *,
    limits: RunLimits,
    cache: ReplyStore | None = None,
    on_progress: ProgressSink | None = None,
) -> Round | RunSummary:
    """Feed one round of client replies and return the next round or the final summary.

    Requests of the round without a reply count as failed (their digests fall back).

    Raises:
        RunStateError: the token is forged, expired, replayed or not this run's.
        NotFoundError: unknown run.
    """
    _, round_number = services.registry.consume_token(token, run_id)
    session = stored_session(services, run_id, timer=services.wall, on_progress=on_progress)
    try:
        await session.settle_deferred()
        finished = await _feed_round(session, replies, cache)
        if services.wall() - session.book.started > limits.run_deadline:
            late = session.machine.fail_remaining("the run deadline passed")
            finished += await session.absorb(late)
        return await _next_round(session, round_number + 1, limits, cache, finished)
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            await session.finish(RunStatus.CANCELLED, "the round was cancelled")
        raise
    except Exception as exc:
        with anyio.CancelScope(shield=True):
            await session.finish(RunStatus.FAILED, str(first_leaf(exc))[:500])
        raise


async def _feed_round(
    session: RunSession, replies: Mapping[str, LLMReply | Failure], cache: ReplyStore | None
) -> list[str]:
    """Feed every request of the round; returns the areas it finished.

    The accepted replies are cached together at the end (concurrently: each is a file write),
    not one after another while the client waits for the next round.
    """
    machine, finished = session.machine, list[str]()
    unknown = set(replies) - set(machine.in_flight)
    if unknown:
        log.warning("ignoring %d replies to requests not in this round", len(unknown))
    accepted: list[tuple[str, LLMReply]] = []
    for request_id in machine.in_flight:
        result = replies.get(request_id) or Failure("NoReply", "the client sent no reply")
        request = machine.request_for(request_id)
        _attempt_event(session, request, result)
        outcomes = machine.feed(request_id, result)
        keep = session.book.use_cache and not rejected(outcomes, request_id)
        if cache is not None and keep and isinstance(result, LLMReply):
            accepted.append((reply_key(CLIENT_BACKEND, "", request), result))
        finished += await session.absorb(outcomes)
    if cache is not None:
        async with anyio.create_task_group() as puts:
            for key, reply in accepted:
                puts.start_soon(cache.put, key, reply)
    return finished


def _attempt_event(session: RunSession, request: LLMRequest, result: LLMReply | Failure) -> None:
    meta = request.meta
    session.services.telemetry.emit(
        LLMAttempt(
            run_id=session.run_id,
            backend=CLIENT_BACKEND,
            stage=meta.stage,
            language=meta.language,
            area=meta.area,
            attempt=1,
            outcome=_attempt_outcome(result),
            error_class=result.error if isinstance(result, Failure) else "",
        )
    )


def _attempt_outcome(result: LLMReply | Failure) -> str:
    if isinstance(result, Failure):
        return "error"
    return "cached" if result.cached else "success"


async def _next_round(
    session: RunSession,
    round_number: int,
    limits: RunLimits,
    cache: ReplyStore | None,
    finished: list[str],
) -> Round | RunSummary:
    """Answer cache hits on the spot, write finished areas in one batch, then issue the next
    round's requests (or finish when nothing is left)."""
    machine = session.machine
    progress = machine.progress()
    limit = limits.round_batch(round_number, progress.total - progress.completed)
    while not machine.done:
        batch = machine.ready_requests(limit - len(machine.in_flight))
        session.issued(batch)
        hits = [(p, reply) for p in batch if (reply := await _cached(cache, session, p))]
        for pending, reply in hits:
            _attempt_event(session, pending.request, reply)
            finished += await session.absorb(machine.feed(pending.request_id, reply))
        if not hits:
            break
    if machine.done:
        await session.write_areas(finished, save=False)
        await session.settle_deferred()
        return await session.finish(RunStatus.COMPLETED)
    if finished:  # lands while the client answers this round
        await session.write_areas(finished, save=False, defer=True)
    await _pace(session, limits, round_number)
    session.save(RunStatus.AWAITING_INPUT)
    token = session.services.registry.issue_token(session.run_id, round_number)
    return Round(
        session.run_id, token, round_number, machine.in_flight_requests(), machine.progress()
    )


async def _pace(session: RunSession, limits: RunLimits, round_number: int) -> None:
    """Hold the round until the previous one's requests fit the rate limit; note a round
    larger than the concurrency limit (only the client's round cap makes one)."""
    services, book = session.services, session.book
    wait = book.next_round_at - services.wall()
    if wait > 0:
        await services.sleep(wait)
    size = len(session.machine.in_flight)
    book.next_round_at = services.wall() + limits.round_pause(size)
    if size > limits.max_concurrency:
        book.oversized_rounds.append(round_number)


async def _cached(
    cache: ReplyStore | None, session: RunSession, pending: PendingRequest
) -> LLMReply | None:
    if cache is None or not session.book.use_cache:
        return None
    key = reply_key(CLIENT_BACKEND, "", pending.request)
    reply = await cache.get(key, run_id=session.run_id)
    return replace(reply, cached=True) if reply is not None else None
