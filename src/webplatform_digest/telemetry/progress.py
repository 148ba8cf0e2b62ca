"""The progress file ``.monitoring/progress.json``: the latest state of a digest run.

A shell user or a second client can poll it while a run goes on. Writes are atomic (readers
see the old or the new document), throttled to one per ``min_interval`` seconds of the injected
clock, and the final state of a run is always written. Every update reports itself as a
``ProgressWritten`` event (``written`` or ``throttled``) so the throttle is visible in metrics.
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
from webplatform_digest.telemetry.events import (
    Event,
    ProgressWritten,
    RunFinished,
    RunProgress,
    RunStarted,
    StageFinished,
)
from webplatform_digest.workspace import Workspace
from webplatform_digest.writes import atomic_write

log = logging.getLogger(__name__)

FILE_NAME = "progress.json"


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
        self._writer = writer
        self._runs: dict[str, RunState] = {}
        self._last_write: float | None = None
        self._pending: dict[str, RunState] = {}
        self._lock = threading.Lock()

    def handle(self, event: Event) -> None:
        """Update the run the event belongs to and write the file if due (or final)."""
        if not isinstance(event, RunStarted | StageFinished | RunProgress | RunFinished):
            return
        if event.run_id is None:
            return
        with self._lock:
            state = self._state_for(event)
            if state is None:
                return
            apply_event(state, event)
            final = isinstance(event, RunFinished)
            outcome = self._update(state, final=final)
            if final:
                self._runs.pop(state.run_id, None)
        if self._emit is not None:
            self._emit(ProgressWritten(run_id=event.run_id, outcome=outcome))

    def flush(self) -> bool:
        """Write the states throttled since their last write (e.g. on a timer). True if any."""
        with self._lock:
            pending = list(self._pending.values())
            self._pending.clear()
            for state in pending:
                self._last_write = self._clock()
                self._write(state)
            return bool(pending)

    def _state_for(self, event: Event) -> RunState | None:
        run_id = event.run_id or ""
        if isinstance(event, RunStarted):
            self._runs[run_id] = started_state(event, self._now_iso())
        return self._runs.get(run_id)

    def _update(self, state: RunState, *, final: bool) -> str:
        now = self._clock()
        due = self._last_write is None or now - self._last_write >= self._min_interval
        if not (due or final):
            self.throttled += 1
            self._pending[state.run_id] = state
            return "throttled"
        self._last_write = now
        self._pending.pop(state.run_id, None)
        self._write(state)
        return "written"

    def _write(self, state: RunState) -> None:
        self.written += 1
        data = orjson.dumps(state.document(self._now_iso()), option=orjson.OPT_INDENT_2)
        try:
            self._writer(self.path, data)
        except WriteError as exc:  # progress is advisory: a failed write must not stop a run
            log.warning("progress file not written: %s", exc)


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
