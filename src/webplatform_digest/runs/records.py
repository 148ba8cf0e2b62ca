"""The run registry's values: a run's status, its stored record, its log entries, its id."""

import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    """Lifecycle of a run."""

    RUNNING = "running"
    AWAITING_INPUT = "awaiting_input"
    COMPLETED = "completed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"


ACTIVE = (RunStatus.RUNNING, RunStatus.AWAITING_INPUT)


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One run as stored (no snapshot; load that separately)."""

    run_id: str
    status: RunStatus
    version: int
    channel: str
    params: dict[str, Any]
    started_at: str
    finished_at: str | None
    results: dict[str, Any]
    summary: dict[str, Any] | None
    round: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (for tools and the CLI)."""
        data = asdict(self)
        data["status"] = self.status.value
        return data


@dataclass(frozen=True, slots=True)
class RunEvent:
    """One entry of a run's event log."""

    seq: int
    at: str
    kind: str
    data: dict[str, Any]


def new_run_id() -> str:
    """A fresh unguessable run id (128 random bits, URL-safe) that never starts with ``-``, so
    ``run --resume ID`` is never read as an option."""
    while True:
        run_id = secrets.token_urlsafe(16)
        if not run_id.startswith("-"):
            return run_id


def iso_time(seconds: float | None) -> str | None:
    """A stored epoch time as an ISO-8601 UTC string to the second (None stays None)."""
    if seconds is None:
        return None
    stamp = datetime.fromtimestamp(seconds, UTC).replace(microsecond=0)
    return stamp.isoformat().replace("+00:00", "Z")
