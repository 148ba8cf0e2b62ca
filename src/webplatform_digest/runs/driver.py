"""Driving digest runs (async I/O shell around the ``DigestRun`` state machine).

* Server-side / back-channel driver (``run_digest``, ``resume_digest``): up to
  ``max_concurrency`` requests in flight through the governor; an area's Chinese request goes
  out the moment its English is final. Cancellation leaves no task behind and the registry
  saying ``cancelled`` (``interrupted``, hence resumable, when the process is stopping).
* Input-required driver helpers (``start_rounds``, ``advance_rounds``, in ``run_rounds``,
  re-exported here): each round returns the batch of ready requests and a fresh single-use
  token; the next call feeds the client's replies and returns the next round or the summary.
"""

import logging
import math
from collections.abc import Mapping
from typing import Any, Protocol

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from webplatform_digest.digest.machine import Failure, PendingRequest, Progress, StageOutcome
from webplatform_digest.digest.plan import RunPlan
from webplatform_digest.digest.state import RunLimits, first_leaf, rejected
from webplatform_digest.errors import LLMError
from webplatform_digest.llm.port import Backend, LLMReply, LLMRequest
from webplatform_digest.runs.registry import RunStatus
from webplatform_digest.runs.rounds import advance_rounds, resume_rounds, start_rounds
from webplatform_digest.runs.session import (
    ProgressSink,
    RunServices,
    RunSession,
    open_run,
    resumed_session,
)
from webplatform_digest.runs.summary import RunSummary

log = logging.getLogger(__name__)

__all__ = [
    "GovernedCaller",
    "RunLimits",
    "advance_rounds",
    "first_leaf",
    "progress_report",
    "resume_digest",
    "resume_rounds",
    "run_digest",
    "start_rounds",
]

#: extra seconds after the run deadline before in-flight calls are abandoned
DEADLINE_GRACE = 1.0
#: registry reason of a run cut short by the server shutting down
SHUTDOWN_REASON = "the server stopped during the run; resume it or start a new run"


class GovernedCaller(Protocol):
    """The governor's call interface (``llm.governor.Governor``)."""

    async def call(
        self, backend: Backend, request: LLMRequest, *, use_cache: bool = True, deadline: float
    ) -> LLMReply:
        """One governed call; raises ``LLMError`` when it fails for good."""
        ...

    def forget(self, backend: Backend, request: LLMRequest) -> None:
        """Drop a cached reply that failed validation, so a later run asks again."""
        ...


# Server-side driver --------------------------------------------------------------------------


async def run_digest(
    services: RunServices,
    plan: RunPlan,
    backend: Backend,
    governor: GovernedCaller,
    *,
    limits: RunLimits,
    use_cache: bool = True,
    params: Mapping[str, Any] | None = None,
    on_progress: ProgressSink | None = None,
) -> RunSummary:
    """Run a whole digest in this process with up to ``max_concurrency`` calls in flight.

    Raises:
        WriteError: a digest could not be written (the run is recorded as failed).
    """
    session = open_run(
        services,
        plan,
        backend=backend.name,
        timer=services.clock,
        use_cache=use_cache,
        params=params,
        on_progress=on_progress,
    )
    return await _drive_guarded(session, backend, governor, limits)


async def resume_digest(
    services: RunServices,
    run_id: str,
    backend: Backend,
    governor: GovernedCaller,
    *,
    limits: RunLimits,
    on_progress: ProgressSink | None = None,
) -> RunSummary:
    """Finish an interrupted run from its last snapshot (lost requests are asked again).

    Raises:
        NotFoundError: unknown run. RunStateError: the run is not interrupted or has no state.
    """
    session = resumed_session(
        services, run_id, backend.name, timer=services.clock, on_progress=on_progress
    )
    session.save(RunStatus.RUNNING)
    return await _drive_guarded(session, backend, governor, limits)


async def _drive_guarded(
    session: RunSession, backend: Backend, governor: GovernedCaller, limits: RunLimits
) -> RunSummary:
    """Drive to the end; on cancellation or failure leave the registry consistent."""
    try:
        await _drive(session, backend, governor, limits)
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            if session.services.stopping():  # not the client's wish: keep it resumable
                await session.finish(RunStatus.INTERRUPTED, SHUTDOWN_REASON)
            else:
                await session.finish(RunStatus.CANCELLED, "the run was cancelled")
        raise
    except Exception as exc:
        error = first_leaf(exc)
        with anyio.CancelScope(shield=True):
            await session.finish(RunStatus.FAILED, str(error)[:500])
        if error is exc:
            raise
        raise error from exc
    return await session.finish(RunStatus.COMPLETED)


async def _drive(
    session: RunSession, backend: Backend, governor: GovernedCaller, limits: RunLimits
) -> None:
    limit = max(1, limits.max_concurrency)
    elapsed = session.timer() - session.book.started
    remaining = max(0.0, limits.run_deadline - elapsed)
    deadline = session.services.clock() + remaining
    async with anyio.create_task_group() as writes:
        await session.report_progress()
        if ready := session.finished_areas():
            writes.start_soon(session.write_areas, ready)
        with anyio.move_on_after(remaining + DEADLINE_GRACE) as scope:
            async with anyio.create_task_group() as calls:
                await _pump(session, calls, writes, backend, governor, limit, deadline)
        if scope.cancelled_caught:
            late = session.machine.fail_remaining("the run deadline passed")
            if areas := await session.absorb(late):
                writes.start_soon(session.write_areas, areas)


async def _pump(
    session: RunSession,
    calls: TaskGroup,
    writes: TaskGroup,
    backend: Backend,
    governor: GovernedCaller,
    limit: int,
    deadline: float,
) -> None:
    """Keep ``limit`` calls in flight; feed each reply as it lands; hand finished areas on.

    The slot a reply frees goes at once to a request that is already ready (another area's
    English, an earlier area's translation), before the reply is checked; a follow-up the reply
    makes ready (its translation, a corrective retry) goes out the moment it is fed. The run's
    bookkeeping (telemetry, progress, the snapshot) comes after both, while the client answers,
    instead of lengthening every round.
    """
    machine = session.machine
    send, receive = anyio.create_memory_object_stream[tuple[str, LLMReply | Failure]](math.inf)
    sent: dict[str, LLMRequest] = {}
    finished: list[str] = []

    async def issue(unfed: int) -> None:
        """Fill the free slots; ``unfed`` replies have landed but are still in flight for the
        machine. New calls are started before this returns: ``start_soon`` only schedules
        them, and the checks that follow would otherwise hold them back for milliseconds."""
        batch = machine.ready_requests(limit - len(machine.in_flight) + unfed)
        session.issued(batch)
        for pending in batch:
            sent[pending.request_id] = pending.request
            calls.start_soon(
                _call, governor, backend, pending, session.book.use_cache, deadline, send
            )
        if batch:
            await anyio.lowlevel.checkpoint()

    with send, receive:
        await issue(0)
        while not machine.done:
            fed: list[tuple[tuple[StageOutcome, ...], Progress]] = []
            arrived = await _arrived(receive)
            await issue(len(arrived))
            for index, (request_id, result) in enumerate(arrived):
                outcomes = machine.feed(request_id, result)
                if isinstance(result, LLMReply) and rejected(outcomes, request_id):
                    governor.forget(backend, sent[request_id])
                sent.pop(request_id, None)
                fed.append((outcomes, machine.progress()))
                await issue(len(arrived) - index - 1)
            for outcomes, progress in fed:
                finished += await session.absorb(outcomes, progress)
            if finished:  # after the new calls: writes must not delay the next requests
                writes.start_soon(session.write_areas, finished)
                finished = []
            else:  # a finished area's write saves the state once it is on disk
                session.save()  # every accepted reply is stored: a kill never asks it again


async def _arrived(
    receive: MemoryObjectReceiveStream[tuple[str, LLMReply | Failure]],
) -> list[tuple[str, LLMReply | Failure]]:
    """The next result and every other one already waiting (fed together, then refilled)."""
    results = [await receive.receive()]
    while True:
        try:
            results.append(receive.receive_nowait())
        except anyio.WouldBlock:
            return results


async def _call(
    governor: GovernedCaller,
    backend: Backend,
    pending: PendingRequest,
    use_cache: bool,
    deadline: float,
    send: MemoryObjectSendStream[tuple[str, LLMReply | Failure]],
) -> None:
    result: LLMReply | Failure
    try:
        result = await governor.call(
            backend, pending.request, use_cache=use_cache, deadline=deadline
        )
    except LLMError as exc:
        result = Failure.from_exception(exc)
    except Exception as exc:  # a backend bug must cost one digest its LLM text, not the run
        log.exception("LLM call %s failed unexpectedly", pending.request_id)
        result = Failure.from_exception(exc)
    try:
        send.send_nowait((pending.request_id, result))
    except anyio.ClosedResourceError:
        # the run stopped (shutdown, a signal) while this reply landed: the request is still in
        # flight in the saved state, so a resume asks it again (the reply cache may answer it)
        log.info("reply to %s arrived after the run stopped", pending.request_id)


def progress_report(
    services: RunServices, run_id: str, after_seq: int = 0, limit: int = 100
) -> dict[str, Any]:
    """What ``get_digest_progress(run_id, after_seq)`` returns: the run and its later events.

    Raises:
        NotFoundError: unknown run.
    """
    services.registry.recover_interrupted()  # an abandoned run shows as interrupted at once
    record = services.registry.get(run_id)
    events = services.registry.events_after(run_id, after_seq, limit)
    return {
        "run": record.to_json(),
        "events": [{"seq": e.seq, "at": e.at, "kind": e.kind, "data": e.data} for e in events],
        "next_seq": events[-1].seq if events else max(0, after_seq),
    }
