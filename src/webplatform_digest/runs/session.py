"""The I/O around one digest run, shared by both drivers: telemetry, progress, writes, registry.

A ``RunSession`` wraps a ``DigestRun`` machine. It turns the machine's outcomes into telemetry
events with durations, reports progress, writes each finished area's digests through the batch
writer, keeps the run registry's snapshot and results current, and builds the final summary.
Its bookkeeping (issue times, files written) travels in the snapshot under ``"driver"`` so the
input-required driver can continue a run in a later call or another process.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from webplatform_digest.clock import Clock, monotonic, utc_now_iso, wall_time
from webplatform_digest.digest.codec import restore_run, run_snapshot
from webplatform_digest.digest.machine import DigestRun, PendingRequest, Progress, StageOutcome
from webplatform_digest.digest.plan import RunPlan
from webplatform_digest.errors import RunStateError
from webplatform_digest.events import (
    RunFinished,
    RunProgress,
    RunStarted,
    StageFinished,
    Telemetry,
)
from webplatform_digest.models import DigestStatus
from webplatform_digest.runs.deferred import DeferredWrites
from webplatform_digest.runs.output import DigestWrite, write_digests
from webplatform_digest.runs.registry import RunRegistry, RunStatus
from webplatform_digest.runs.summary import RunSummary, overlay, round_note
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import BatchWriter

log = logging.getLogger(__name__)

#: called with the run's progress after every change (e.g. MCP progress, a CLI bar)
ProgressSink = Callable[[Progress], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Round:
    """One round of the input-required flow: requests for the client and the token to return."""

    run_id: str
    token: str
    round: int
    requests: tuple[PendingRequest, ...]
    progress: Progress


def _running() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class RunServices:
    """What a driver needs from the container (``deferred``: optional, rounds flow only).

    ``stopping`` says whether the process is shutting down: a run cancelled then is left
    ``interrupted`` (resumable), not ``cancelled``.
    """

    workspace: Workspace
    registry: RunRegistry
    writer: BatchWriter
    telemetry: Telemetry
    clock: Clock = monotonic
    wall: Callable[[], float] = wall_time
    #: waits between input-required rounds (paced by the rate limit)
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    now_iso: Callable[[], str] = utc_now_iso
    deferred: DeferredWrites | None = None
    stopping: Callable[[], bool] = _running


@dataclass
class _Book:
    """Driver bookkeeping that must survive between rounds (JSON-ready values only)."""

    started: float
    issued: dict[str, float] = field(default_factory=dict[str, float])
    area_started: dict[str, float] = field(default_factory=dict[str, float])
    written: list[str] = field(default_factory=list[str])
    unchanged: list[str] = field(default_factory=list[str])
    use_cache: bool = True
    backend: str = ""
    #: area → language → why the model digest on disk was kept
    kept: dict[str, dict[str, str]] = field(default_factory=dict[str, dict[str, str]])
    #: wall time before which the next input-required round is not issued (rate limit)
    next_round_at: float = 0.0
    #: input-required rounds that carried more requests than the concurrency limit
    oversized_rounds: list[int] = field(default_factory=list[int])


class RunSession:
    """Telemetry, progress, writes and registry updates for one machine (see module docstring).

    ``timer`` measures durations: the monotonic clock in the server-side driver, the wall clock
    in the input-required driver (its rounds may span processes).
    """

    def __init__(
        self,
        services: RunServices,
        machine: DigestRun,
        *,
        timer: Clock,
        book: dict[str, Any] | None = None,
        on_progress: ProgressSink | None = None,
        plan_json: dict[str, Any] | None = None,
    ) -> None:
        self.services = services
        self.machine = machine
        self.timer = timer
        self.on_progress = on_progress
        self.book = _Book(**book) if book else _Book(started=timer())
        # the plan's JSON form, made once: every save stores it again unchanged
        self._plan_json = plan_json

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.machine.plan.run_id

    def snapshot(self) -> dict[str, Any]:
        """Machine snapshot plus driver bookkeeping."""
        book = self.book
        state = run_snapshot(self.machine, plan_json=self._plan_json)
        self._plan_json = state["plan"]
        return state | {
            "driver": {
                "started": book.started,
                "issued": book.issued,
                "area_started": book.area_started,
                "written": book.written,
                "unchanged": book.unchanged,
                "use_cache": book.use_cache,
                "backend": book.backend,
                # only when set: snapshots of runs without them keep their first-stored shape
                **({"kept": book.kept} if book.kept else {}),
                **({"next_round_at": book.next_round_at} if book.next_round_at else {}),
                **({"oversized_rounds": book.oversized_rounds} if book.oversized_rounds else {}),
            }
        }

    def emit_started(self) -> None:
        """Announce the run."""
        plan = self.machine.plan
        self.services.telemetry.emit(
            RunStarted(
                run_id=self.run_id,
                version=plan.version,
                channel=plan.channel.value,
                areas=tuple(s.data.area for s in plan.subjects),
                languages=tuple(lang.value for lang in plan.languages),
                backend=plan.backend,
            )
        )

    def issued(self, requests: tuple[PendingRequest, ...]) -> None:
        """Note when requests went out (for stage durations)."""
        now = self.timer()
        for pending in requests:
            self.book.issued[pending.request_id] = now
            self.book.area_started.setdefault(pending.area, now)

    def seconds_since_issue(self, request_id: str) -> float:
        """How long a request has been out (0 if unknown)."""
        since = self.book.issued.get(request_id)
        return max(0.0, self.timer() - since) if since is not None else 0.0

    async def absorb(
        self, outcomes: tuple[StageOutcome, ...], progress: Progress | None = None
    ) -> list[str]:
        """Emit events for new outcomes and report progress (``progress``: as it was when they
        happened, if the machine has moved on since); returns the areas now finished."""
        finished: list[str] = []
        for outcome in outcomes:
            if outcome.stage == "area_total":
                finished.append(outcome.area)
                since = self.book.area_started.get(outcome.area)
                seconds = max(0.0, self.timer() - since) if since is not None else 0.0
            else:
                seconds = self.seconds_since_issue(outcome.request_id) if outcome.request_id else 0
            self.services.telemetry.emit(
                StageFinished(
                    run_id=self.run_id,
                    area=outcome.area,
                    stage=outcome.stage,
                    language=outcome.language,
                    outcome=outcome.outcome,
                    seconds=seconds,
                    reason=outcome.reason,
                )
            )
        if outcomes:
            await self.report_progress(progress)
        return finished

    async def report_progress(self, progress: Progress | None = None) -> None:
        """Send the current progress (or ``progress``) to telemetry and the progress sink."""
        if progress is None:
            progress = self.machine.progress()
        self.services.telemetry.emit(
            RunProgress(
                run_id=self.run_id,
                completed=progress.completed,
                total=progress.total,
                message=progress.message,
            )
        )
        if self.on_progress is not None:
            await self.on_progress(progress)

    def finished_areas(self) -> list[str]:
        """Areas already complete (e.g. empty areas at the start)."""
        return [
            s.data.area
            for s in self.machine.plan.subjects
            if self.machine.area_finished(s.data.area)
        ]

    async def write_areas(
        self, areas: list[str], *, save: bool = True, defer: bool = False
    ) -> None:
        """Write the digests of finished areas (one batch), then store results and snapshot.

        ``defer`` hands the write to ``services.deferred`` when there is one.

        Raises:
            WriteError: a file could not be written.
        """
        digests = [d for area in areas for d in self.machine.area_digests(area)]
        services = self.services
        now = services.now_iso()

        overwrite = self.machine.plan.overwrite

        def write() -> Awaitable[DigestWrite]:
            return write_digests(
                services.writer, services.workspace, digests, now, overwrite=overwrite
            )

        if defer and services.deferred is not None:
            services.deferred.submit(self.run_id, write)
            return
        self._record(await write())
        if save:
            self.save()

    async def settle_deferred(self) -> None:
        """Take in the results of this run's deferred writes (raises their WriteError)."""
        if self.services.deferred is not None:
            for result in await self.services.deferred.settle(self.run_id):
                self._record(result)

    def _record(self, write: DigestWrite) -> None:
        book = self.book
        book.written += [str(p) for p in write.result.written]
        book.unchanged += [str(p) for p in write.result.unchanged]
        for kept in write.kept:
            book.kept.setdefault(kept.area, {})[kept.language] = kept.reason

    def statuses(self) -> dict[str, dict[str, str]]:
        """Per-area statuses by language, ``kept`` where the model digest on disk stayed."""
        return overlay(self.machine.statuses(), self.book.kept, DigestStatus.KEPT.value)

    def reasons(self) -> dict[str, dict[str, str]]:
        """Per-area reasons by language, the kept ones included."""
        kept = self.book.kept
        return overlay(self.machine.reasons(), kept, lambda area, lang: kept[area][lang])

    @property
    def fallbacks(self) -> int:
        """Requested digests written as fallbacks (a kept model digest is none)."""
        statuses = self.machine.statuses()
        fallback = DigestStatus.FALLBACK.value
        kept = sum(
            statuses.get(area, {}).get(lang) == fallback
            for area, row in self.book.kept.items()
            for lang in row
        )
        return self.machine.fallbacks - kept

    def save(self, status: RunStatus | None = None) -> None:
        """Store the snapshot and per-area results (and a status) in the registry."""
        self.services.registry.update(
            self.run_id, status=status, snapshot=self.snapshot(), results=self.results()
        )

    def results(self) -> dict[str, Any]:
        """Per-area statuses and reasons, as stored in the registry."""
        reasons = self.reasons()
        return {
            area: {
                lang: {"status": status, "reason": reasons.get(area, {}).get(lang, "")}
                for lang, status in row.items()
            }
            for area, row in self.statuses().items()
        }

    def summary(self, status: RunStatus, reason: str = "") -> RunSummary:
        """The run's summary as of now."""
        machine = self.machine
        return RunSummary(
            run_id=self.run_id,
            version=machine.plan.version,
            channel=machine.plan.channel.value,
            areas=self.statuses(),
            llm_calls=machine.llm_calls,
            cache_hits=machine.cache_hits,
            fallbacks=self.fallbacks,
            wall_seconds=max(0.0, self.timer() - self.book.started),
            written=tuple(self.book.written),
            unchanged=tuple(self.book.unchanged),
            status=status.value,
            reason=reason,
            backend=self.book.backend,
            kept={area: dict(row) for area, row in self.book.kept.items()},
            round_note=round_note(self.book.oversized_rounds),
        )

    async def finish(self, status: RunStatus, reason: str = "") -> RunSummary:
        """Record the end of the run everywhere and return its summary."""
        summary = self.summary(status, reason)
        telemetry = self.services.telemetry
        outcome = "ok" if status is RunStatus.COMPLETED else "error"
        telemetry.emit(
            StageFinished(
                run_id=self.run_id,
                area="",
                stage="run_total",
                language="",
                outcome=outcome,
                seconds=summary.wall_seconds,
                reason=reason,
            )
        )
        telemetry.emit(
            RunFinished(
                run_id=self.run_id,
                status=status.value,
                seconds=summary.wall_seconds,
                llm_calls=summary.llm_calls,
                cache_hits=summary.cache_hits,
                fallbacks=summary.fallbacks,
            )
        )
        self.services.registry.update(
            self.run_id,
            status=status,
            snapshot=self.snapshot(),
            results=self.results(),
            summary=summary.to_json(),
            reason=reason,
        )
        log.info("digest run %s %s: %s", self.run_id, status.value, summary.areas)
        return summary


def open_run(
    services: RunServices,
    plan: RunPlan,
    *,
    backend: str,
    timer: Clock,
    use_cache: bool = True,
    params: Mapping[str, Any] | None = None,
    on_progress: ProgressSink | None = None,
) -> RunSession:
    """Start a new run: a session over a fresh machine, its registry record (owned by this
    process, with the initial snapshot: resumable from the start) and the ``RunStarted`` event.
    Shared by both drivers."""
    session = RunSession(services, DigestRun(plan), timer=timer, on_progress=on_progress)
    session.book.use_cache, session.book.backend = use_cache, backend
    services.registry.create_run(
        version=plan.version,
        channel=plan.channel.value,
        params=dict(params or {}),
        run_id=plan.run_id,
        snapshot=session.snapshot(),
    )
    session.emit_started()
    return session


def stored_session(
    services: RunServices,
    run_id: str,
    *,
    timer: Clock,
    on_progress: ProgressSink | None = None,
) -> RunSession:
    """A session over the run's last stored snapshot, bookkeeping included.

    Raises:
        NotFoundError: unknown run. RunStateError: no stored state, or it cannot be read.
    """
    snapshot = services.registry.load_snapshot(run_id)
    return RunSession(
        services,
        restore_run(snapshot),
        timer=timer,
        book=snapshot.get("driver"),
        on_progress=on_progress,
        plan_json=snapshot["plan"],
    )


def resumed_session(
    services: RunServices,
    run_id: str,
    backend: str,
    *,
    timer: Clock,
    on_progress: ProgressSink | None = None,
) -> RunSession:
    """A session continuing an interrupted run from its last snapshot; requests whose replies
    were lost are asked again.

    Raises:
        NotFoundError: unknown run. RunStateError: the run is not interrupted.
    """
    record = services.registry.get(run_id)
    if record.status is not RunStatus.INTERRUPTED:
        raise RunStateError(
            f"run {run_id[:64]!r} is {record.status.value}, not interrupted: only an interrupted "
            "run can be resumed"
        )
    session = stored_session(services, run_id, timer=timer, on_progress=on_progress)
    session.machine.requeue_in_flight()
    # durations restart with this process (the stored ones may come from another clock)
    stored = session.book
    session.book = _Book(
        started=timer(), written=stored.written, use_cache=stored.use_cache, backend=backend
    )
    return session
