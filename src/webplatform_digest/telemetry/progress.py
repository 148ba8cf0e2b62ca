"""The progress file ``.monitoring/progress.json``: the latest state of a digest run.

A shell user or a second client can poll it while a run goes on. Writes are atomic (readers
see the old or the new document), throttled to one per ``min_interval`` seconds of the injected
clock, and the final state of a run is always written. Every update reports itself as a
``ProgressWritten`` event so the throttle is visible in metrics; throttled updates are counted
and reported together with the next write (one event, not one per update).

The write itself (temp file, fsync, rename) happens on a small writer thread that always writes
the newest document, so a slow disk never stalls the event loop that emits the events.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from webplatform_digest.clock import Clock, monotonic, utc_now_iso
from webplatform_digest.errors import WriteError
from webplatform_digest.events import (
    Event,
    ProgressWritten,
    RunFinished,
    RunProgress,
    RunStarted,
    StageFinished,
)
from webplatform_digest.storage.commit import atomic_write
from webplatform_digest.storage.workspace import Workspace

log = logging.getLogger(__name__)

FILE_NAME = "progress.json"
_RUN_EVENTS = frozenset({RunStarted, StageFinished, RunProgress, RunFinished})


def progress_path(workspace: Workspace) -> Path:
    """``<root>/.monitoring/progress.json``."""
    return workspace.path(Workspace.monitoring_rel(FILE_NAME))


@dataclass(slots=True)
class RunState:
    """What the progress file says about one run (mutable: the hook updates it in place)."""

    run_id: str
    version: int | None = None
    channel: str = ""
    backend: str = ""
    status: str = "running"
    completed: int = 0
    total: int = 0
    message: str = ""
    started_at: str = ""
    areas: dict[str, dict[str, Any]] = field(default_factory=dict[str, dict[str, Any]])

    def document(self, updated_at: str) -> dict[str, Any]:
        """The JSON document written to the file."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "version": self.version,
            "channel": self.channel,
            "backend": self.backend,
            "completed": self.completed,
            "total": self.total,
            "message": self.message,
            "areas": self.areas,
            "started_at": self.started_at,
            "updated_at": updated_at,
        }


def apply_event(state: RunState, event: Event) -> None:
    """Fold one run event into ``state``."""
    if isinstance(event, StageFinished):
        _apply_stage(state, event)
    elif isinstance(event, RunProgress):
        state.completed, state.total = event.completed, event.total
        state.message = event.message or state.message
    elif isinstance(event, RunFinished):
        state.status = event.status
        state.message = f"run {event.status} in {event.seconds:.1f} s"


def _apply_stage(state: RunState, event: StageFinished) -> None:
    if event.stage == "run_total" or not event.area:
        return
    area = state.areas.setdefault(event.area, {"state": "pending", "languages": {}})
    if event.stage == "area_total":
        area["state"] = event.outcome
    else:
        if area["state"] == "pending":
            area["state"] = "running"
        if event.language:
            area["languages"][event.language] = event.outcome
        area["stage"] = event.stage


def started_state(event: RunStarted, started_at: str) -> RunState:
    """The state of a run that has just started: every area pending."""
    return RunState(
        run_id=event.run_id or "",
        version=event.version,
        channel=event.channel,
        backend=event.backend,
        total=len(event.areas) * max(1, len(event.languages)),
        message=f"started: {len(event.areas)} areas",
        started_at=started_at,
        areas={area: {"state": "pending", "languages": {}} for area in event.areas},
    )


class ProgressFileHook:
    """Telemetry hook that keeps ``progress.json`` up to date for the runs it sees."""

    def __init__(
        self,
        path: Path,
        *,
        min_interval: float,
        clock: Clock = monotonic,
        emit: Callable[[Event], None] | None = None,
        now_iso: Callable[[], str] = utc_now_iso,
        writer: Callable[[Path, bytes], bool] = atomic_write,
    ) -> None:
        self.path = path
        self.written = 0
        self.throttled = 0
        self._min_interval = min_interval
        self._clock = clock
        self._emit = emit
        self._now_iso = now_iso
        self._writer = _LatestWriter(path, writer)
        self._runs: dict[str, RunState] = {}
        self._last_write: float | None = None
        self._pending: dict[str, RunState] = {}
        self._unreported = 0
        self._lock = threading.Lock()

    def handle(self, event: Event) -> None:
        """Update the run the event belongs to and write the file if due (or final)."""
        if type(event) not in _RUN_EVENTS or event.run_id is None:
            return
        with self._lock:
            state = self._state_for(event)
            if state is None:
                return
            apply_event(state, event)
            final = isinstance(event, RunFinished)
            wrote = self._update(state, final=final)
            if final:
                self._runs.pop(state.run_id, None)
        if wrote:
            self._report(event.run_id, 1)

    def flush(self, timeout: float = 5.0) -> bool:
        """Write the latest state throttled since its last write (e.g. on a timer) and wait
        until it is on disk. False if the writer did not finish within ``timeout``."""
        with self._lock:
            pending = list(self._pending.values())
            self._pending.clear()
            for state in pending:
                self._last_write = self._clock()
                self._write(state)
        if pending:
            self._report(pending[-1].run_id, len(pending))
        return self.wait_written(timeout)

    def wait_written(self, timeout: float = 5.0) -> bool:
        """Wait until every update handed to the writer is on disk. False on timeout."""
        return self._writer.wait_idle(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is pending and stop the writer thread. Idempotent."""
        self.flush(timeout)
        self._writer.close(timeout)

    def __enter__(self) -> "ProgressFileHook":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _state_for(self, event: Event) -> RunState | None:
        run_id = event.run_id or ""
        if isinstance(event, RunStarted):
            self._runs[run_id] = started_state(event, self._now_iso())
        return self._runs.get(run_id)

    def _update(self, state: RunState, *, final: bool) -> bool:
        """Write the state if due (or final); otherwise keep it pending. True if written."""
        now = self._clock()
        due = self._last_write is None or now - self._last_write >= self._min_interval
        if not (due or final):
            self.throttled += 1
            self._unreported += 1
            self._pending[state.run_id] = state
            return False
        self._last_write = now
        self._pending.pop(state.run_id, None)
        self._write(state)
        return True

    def _report(self, run_id: str | None, written: int) -> None:
        """Emit the throttled updates since the last report, then the writes."""
        if self._emit is None:
            return
        with self._lock:
            throttled, self._unreported = self._unreported, 0
        if throttled:
            self._emit(ProgressWritten(run_id=run_id, outcome="throttled", count=throttled))
        self._emit(ProgressWritten(run_id=run_id, outcome="written", count=written))

    def _write(self, state: RunState) -> None:
        self.written += 1
        self._writer.submit(
            orjson.dumps(state.document(self._now_iso()), option=orjson.OPT_INDENT_2)
        )


class _LatestWriter:
    """Writes the newest document handed to it on its own thread; an older document that was
    not written yet is skipped (only the latest state matters)."""

    def __init__(self, path: Path, write: Callable[[Path, bytes], bool]) -> None:
        self._path = path
        self._write = write
        self._slot: bytes | None = None
        self._busy = False
        self._stopping = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="progress-file", daemon=True)
        self._thread.start()

    def submit(self, data: bytes) -> None:
        """Replace the document waiting to be written."""
        with self._cond:
            self._slot = data
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is waiting or being written."""
        with self._cond:
            return self._cond.wait_for(lambda: self._slot is None and not self._busy, timeout)

    def close(self, timeout: float) -> None:
        """Write what is waiting, then stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._slot is not None or self._stopping)
                data, self._slot = self._slot, None
                if data is None:
                    return
                self._busy = True
            try:
                self._write(self._path, data)
            except WriteError as exc:  # progress is advisory: a failed write must not stop a run
                log.warning("progress file not written: %s", exc)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


def read_progress(path: Path) -> dict[str, Any] | None:
    """The progress document, or None when the file is missing or not a valid document."""
    try:
        value = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError) as exc:
        log.warning("progress file unreadable: %s", exc)
        return None
    if not isinstance(value, dict) or not isinstance(value.get("run_id"), str):
        return None
    return value
