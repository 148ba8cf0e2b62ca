"""The shared async write queue: the single writer of a workspace.

```
write()/write_batch() ──▶ bounded queue ──▶ one worker task
  (waits ≤ submit_timeout                     │ gather what arrived; same-path writes coalesce
   while full)                                │ in-process lock   (readers: ``reading()``)
                                              │ inter-process lock (.monitoring/workspace.lock)
                                              │ commit in a thread: stage all → remove → replace
                                              ▼ each awaiter gets its BatchResult or WriteError
```
Only file commits happen under the locks (never LLM work). A commit that has started always
completes, even when the owning task group is cancelled. See ``storage.commit`` for crash safety.
"""

import contextlib
import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Self

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from webplatform_digest.clock import Clock, monotonic
from webplatform_digest.errors import WriteError
from webplatform_digest.events import FileWritten, Telemetry, WriteQueueDepth
from webplatform_digest.storage.commit import (
    BatchResult,
    FileJob,
    Mapper,
    commit_files,
    file_jobs,
    removal_jobs,
    sweep_temps,
)
from webplatform_digest.storage.lock import WorkspaceLock
from webplatform_digest.storage.workspace import Workspace

log = logging.getLogger(__name__)

_PARALLEL_FROM = 4
#: batches this large have their paths confined in a worker thread: one ``lstat`` per path
#: and folder, a site's worth of which would hold the event loop for tens of milliseconds
_CONFINE_OFF_LOOP_FROM = 64


@dataclass(frozen=True, slots=True)
class WriteQueueConfig:
    """Tunables of the write queue (mapped from ``Settings`` by the container)."""

    queue_size: int = 256
    coalesce_window: float = 0.02
    submit_timeout: float = 30.0
    lock_timeout: float = 30.0
    coalescing: bool = True
    stage_threads: int = 16
    #: sweep temp files left by a crash at start (off in a workspace that cannot be written)
    sweep: bool = True


@dataclass(eq=False, slots=True)
class _Job:
    files: tuple[FileJob, ...]
    removals: tuple[FileJob, ...]
    kind: str
    submitted: float
    done: anyio.Event = field(default_factory=anyio.Event)
    result: BatchResult | None = None
    error: Exception | None = None
    taken: bool = False
    abandoned: bool = False

    @property
    def single(self) -> Path | None:
        """The target path if this job writes exactly one file and removes nothing."""
        return self.files[0].path if len(self.files) == 1 and not self.removals else None

    def finish(self, outcome: BatchResult | Exception) -> None:
        """Hand the outcome to the awaiting submitter."""
        if isinstance(outcome, BatchResult):
            self.result = outcome
        else:
            self.error = outcome
        self.done.set()


@dataclass(eq=False, slots=True)
class _Unit:
    """One commit: a batch job, or same-path single jobs coalesced into the last one's bytes."""

    jobs: list[_Job]
    files: tuple[FileJob, ...]
    removals: tuple[FileJob, ...]


def _plan_units(jobs: Sequence["_Job"], coalescing: bool) -> list[_Unit]:
    """Group jobs into commits in arrival order; a later single write to a path absorbs an
    earlier one (last wins) unless a batch touching that path came in between."""
    units: list[_Unit] = []
    pending: dict[Path, _Unit] = {}
    for job in jobs:
        path = job.single
        if coalescing and path is not None and path in pending:
            unit = pending[path]
            unit.jobs.append(job)
            unit.files = job.files
            continue
        unit = _Unit([job], job.files, job.removals)
        units.append(unit)
        if path is not None:
            pending[path] = unit
        else:
            for touched in (*job.files, *job.removals):
                pending.pop(touched.path, None)
    return units


class WriteQueue:
    """The single writer of a workspace: a bounded async queue drained by one worker task.

    Use ``async with WriteQueue.open(workspace, config, telemetry) as queue:`` (or ``start()`` and
    ``aclose()`` from the same task, e.g. a server lifespan). Works under any anyio task group.
    """

    def __init__(
        self,
        workspace: Workspace,
        config: WriteQueueConfig | None = None,
        telemetry: Telemetry | None = None,
        *,
        clock: Clock = monotonic,
    ) -> None:
        self._workspace = workspace
        self._config = config or WriteQueueConfig()
        self._telemetry = telemetry or Telemetry()
        self._clock = clock
        self._lock = anyio.Lock()
        self._file_lock: WorkspaceLock | None = None
        self._send: MemoryObjectSendStream[_Job] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self.swept = 0

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        workspace: Workspace,
        config: WriteQueueConfig | None = None,
        telemetry: Telemetry | None = None,
        *,
        clock: Clock = monotonic,
    ) -> AsyncGenerator[Self]:
        """Sweep stale temp files, start the worker, and stop it (after draining) on exit.

        Raises:
            WorkspaceBusyError: another process held the workspace lock past the timeout.
        """
        queue = cls(workspace, config, telemetry, clock=clock)
        async with queue._running():
            yield queue

    async def start(self) -> None:
        """Start the queue outside ``async with``; pair with ``aclose()`` in the same task."""
        stack = contextlib.AsyncExitStack()
        await stack.enter_async_context(self._running())
        self._stack = stack

    async def aclose(self) -> None:
        """Drain queued jobs and stop the worker (no-op if not started with ``start()``)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    @property
    def depth(self) -> int:
        """Jobs waiting in the queue."""
        send = self._send
        return send.statistics().current_buffer_used if send is not None else 0

    @property
    def running(self) -> bool:
        """Whether the worker accepts jobs."""
        return self._send is not None

    async def write(self, rel: PurePosixPath, data: bytes, *, kind: str = "other") -> BatchResult:
        """Write one file; same-path writes arriving close together coalesce (last wins).

        Raises:
            UnsafePathError: ``rel`` leaves the workspace.
            WriteError: the queue is full past the deadline, closed, or the write failed.
        """
        return await self.write_batch({rel: data}, kind=kind)

    async def write_batch(
        self,
        files: Mapping[PurePosixPath, bytes],
        *,
        kind: str = "other",
        remove: tuple[PurePosixPath, ...] = (),
    ) -> BatchResult:
        """Commit ``files`` (in mapping order: put a manifest last) and remove ``remove``.

        Raises:
            UnsafePathError: a path leaves the workspace.
            WriteError: the queue is full past the deadline, closed, or the commit failed.
            WorkspaceBusyError: another process held the workspace lock past the timeout.
        """
        if len(files) + len(remove) >= _CONFINE_OFF_LOOP_FROM:
            jobs, removals = await anyio.to_thread.run_sync(self._jobs, files, remove)
        else:
            jobs, removals = self._jobs(files, remove)
        return await self._submit(_Job(jobs, removals, kind, self._clock()))

    def _jobs(
        self, files: Mapping[PurePosixPath, bytes], remove: tuple[PurePosixPath, ...]
    ) -> tuple[tuple[FileJob, ...], tuple[FileJob, ...]]:
        return file_jobs(self._workspace, files), removal_jobs(self._workspace, remove, files)

    @asynccontextmanager
    async def reading(self) -> AsyncGenerator[None]:
        """Read the workspace while no commit (of this or another process) is in progress.

        Keep it short and never await this queue's writes inside it (the worker would wait for
        the reader, the reader for the worker).

        Raises:
            WorkspaceBusyError: another process held the workspace lock past the timeout.
        """
        async with self._lock:
            await self._workspace_lock().acquire()
            try:
                yield
            finally:
                self._workspace_lock().release()

    async def read(self, rel: PurePosixPath) -> bytes | None:
        """The committed bytes of one file, or None if it does not exist."""
        path = self._workspace.path(rel)
        async with self.reading():
            try:
                return path.read_bytes()
            except FileNotFoundError:
                return None

    # -- submitting --------------------------------------------------------------------------

    async def _submit(self, job: _Job) -> BatchResult:
        send = self._send
        if send is None:
            raise WriteError("the write queue is not running")
        try:
            with anyio.fail_after(self._config.submit_timeout):
                await send.send(job)
        except TimeoutError:
            if not job.taken:
                job.abandoned = True
                self._emit_errors(job)
                raise WriteError(
                    f"the write queue is full ({self._config.queue_size} jobs) and did not "
                    f"accept this write within {self._config.submit_timeout:g} s; "
                    "the workspace is busy, try again later"
                ) from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise WriteError("the write queue is closed") from None
        self._telemetry.emit(WriteQueueDepth(depth=self.depth))
        await job.done.wait()
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    # -- the worker --------------------------------------------------------------------------

    @asynccontextmanager
    async def _running(self) -> AsyncGenerator[None]:
        if self._send is not None:
            raise WriteError("the write queue is already running")
        await self._prepare()
        send, receive = anyio.create_memory_object_stream[_Job](self._config.queue_size)
        with ThreadPoolExecutor(self._config.stage_threads, "write-stage") as executor:
            self._executor, self._send = executor, send
            failure: BaseException | None = None
            try:
                async with anyio.create_task_group() as group:
                    group.start_soon(self._work, receive)
                    try:
                        yield
                    except BaseException as exc:  # noqa: BLE001 - re-raised below, unwrapped
                        failure = exc
                    finally:
                        send.close()
            finally:
                self._executor = self._send = None
            if failure is not None:
                raise failure

    async def _prepare(self) -> None:
        self._file_lock = WorkspaceLock(
            self._workspace, self._config.lock_timeout, self._telemetry, clock=self._clock
        )
        if not self._config.sweep:
            return
        async with self.reading():
            self.swept = await anyio.to_thread.run_sync(sweep_temps, self._workspace.root)

    async def _work(self, receive: MemoryObjectReceiveStream[_Job]) -> None:
        with receive:
            try:
                async for first in receive:
                    first.taken = True
                    jobs = await self._gather(first, receive)
                    self._telemetry.emit(WriteQueueDepth(depth=self.depth))
                    if jobs:
                        await self._commit(jobs)
            finally:
                self._fail_pending(receive)

    async def _gather(self, first: _Job, receive: MemoryObjectReceiveStream[_Job]) -> list[_Job]:
        config = self._config
        if config.coalescing and config.coalesce_window > 0 and first.single is not None:
            await anyio.sleep(config.coalesce_window)  # let same-path writes catch up
        jobs = [first]
        while len(jobs) < config.queue_size:
            try:
                job = receive.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
            job.taken = True
            jobs.append(job)
        return [job for job in jobs if not job.abandoned]

    async def _commit(self, jobs: list[_Job]) -> None:
        units = _plan_units(jobs, self._config.coalescing)
        try:
            async with self._lock:
                try:
                    await self._workspace_lock().acquire()
                except WriteError as exc:
                    for job in jobs:
                        self._emit_errors(job)
                        job.finish(exc)
                    return
                try:
                    with anyio.CancelScope(shield=True):  # a started commit always completes
                        started = self._clock()
                        outcomes = await anyio.to_thread.run_sync(self._apply, units)
                        self._finish(units, outcomes, started)
                finally:
                    self._workspace_lock().release()
        finally:
            stopped = WriteError("the write queue stopped before this write was committed")
            for job in jobs:
                if not job.done.is_set():
                    job.finish(stopped)

    def _apply(self, units: list[_Unit]) -> list[BatchResult | Exception]:
        outcomes: list[BatchResult | Exception] = []
        for unit in units:
            try:
                outcomes.append(commit_files(unit.files, unit.removals, mapper=self._mapper(unit)))
            except WriteError as exc:
                outcomes.append(exc)
            except Exception as exc:  # a bug must fail its own jobs, not stop the writer
                log.exception("unexpected error while committing files")
                outcomes.append(WriteError(f"unexpected error while writing: {type(exc).__name__}"))
        return outcomes

    def _mapper(self, unit: _Unit) -> Mapper:
        executor = self._executor
        if executor is None or len(unit.files) < _PARALLEL_FROM:
            return map
        return executor.map

    def _finish(
        self, units: list[_Unit], outcomes: list[BatchResult | Exception], started: float
    ) -> None:
        for unit, outcome in zip(units, outcomes, strict=True):
            for job in unit.jobs:
                wait = max(0.0, started - job.submitted)
                if isinstance(outcome, Exception):
                    self._emit_errors(job, wait)
                elif job is not unit.jobs[-1]:
                    self._emit(job, "coalesced", wait)
                else:
                    self._emit_result(job, outcome, wait)
                job.finish(outcome)

    def _fail_pending(self, receive: MemoryObjectReceiveStream[_Job]) -> None:
        closed = WriteError("the write queue was closed before this write was committed")
        while True:
            try:
                job = receive.receive_nowait()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                return
            self._emit_errors(job)
            job.finish(closed)

    def _workspace_lock(self) -> WorkspaceLock:
        if self._file_lock is None:
            raise WriteError("the write queue is not running")
        return self._file_lock

    # -- telemetry ----------------------------------------------------------------------------

    def _emit(self, job: _Job, outcome: str, wait: float = 0.0) -> None:
        for item in job.files:
            self._telemetry.emit(
                FileWritten(outcome=outcome, bytes=len(item.data), kind=job.kind, wait_seconds=wait)
            )

    def _emit_errors(self, job: _Job, wait: float = 0.0) -> None:
        self._emit(job, "error", wait)

    def _emit_result(self, job: _Job, result: BatchResult, wait: float) -> None:
        changed = set(result.written)
        for item in job.files:
            outcome = "written" if item.rel in changed else "unchanged"
            size = len(item.data) if outcome == "written" else 0
            self._telemetry.emit(
                FileWritten(outcome=outcome, bytes=size, kind=job.kind, wait_seconds=wait)
            )
        for _ in result.removed:
            self._telemetry.emit(FileWritten(outcome="removed", kind=job.kind, wait_seconds=wait))
