"""Values and per-item state of a digest run (pure): requests out, outcomes, progress.

``ItemState`` is the mutable state of one (area, language) item of ``digest_run.DigestRun``;
everything else here is a frozen value the drivers see.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from webplatform_digest.errors import BackendError
from webplatform_digest.llm.port import LLMRequest
from webplatform_digest.models import DigestStatus, Language


class Phase(StrEnum):
    """Where one (area, language) item is."""

    WAITING = "waiting"
    READY = "ready"
    IN_FLIGHT = "in_flight"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Failure:
    """An LLM call that gave no usable reply (error class name and message)."""

    error: str
    message: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException) -> "Failure":
        """The failure describing ``exc``.

        A backend's error carries text the endpoint sent (an HTML page, a script): only its
        class and HTTP status travel on, into telemetry and a digest's ``reason:``.
        """
        if isinstance(exc, BackendError):
            return cls(type(exc).__name__, f"HTTP {exc.status}" if exc.status else "")
        return cls(type(exc).__name__, str(exc)[:300])


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """A request the driver must answer, under a stable id (``<area>.<lang>.<attempt>``)."""

    request_id: str
    area: str
    language: Language
    attempt: int
    request: LLMRequest


@dataclass(frozen=True, slots=True)
class StageOutcome:
    """One recorded outcome: a stage of an item (or ``area_total``) ended."""

    area: str
    language: str
    stage: str
    outcome: str
    reason: str = ""
    request_id: str = ""


@dataclass(frozen=True, slots=True)
class Progress:
    """Completed of total items, with a human message."""

    completed: int
    total: int
    message: str


@dataclass
class ItemState:
    """Mutable state of one (area, language) item."""

    area: str
    language: Language
    phase: Phase
    attempt: int = 0
    previous: str = ""
    problems: tuple[str, ...] = ()
    markdown: str = ""
    status: DigestStatus | None = None
    reason: str = ""
    backend: str = ""
    repairs: tuple[str, ...] = ()
    #: partial acceptance: the overview and the good sections of a rejected English reply
    kept_preamble: str = ""
    kept: dict[str, str] = field(default_factory=dict[str, str])
    #: the feature titles a focused retry asks for
    wanted: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready state."""
        return {
            "area": self.area,
            "language": self.language.value,
            "phase": self.phase.value,
            "attempt": self.attempt,
            "previous": self.previous,
            "problems": list(self.problems),
            "markdown": self.markdown,
            "status": self.status.value if self.status else None,
            "reason": self.reason,
            "backend": self.backend,
        } | self._partial_json()

    def _partial_json(self) -> dict[str, Any]:
        """The repair and partial-acceptance keys, only where set: a snapshot of a run that
        needed neither stays byte-identical to schema 1 as first stored."""
        extra: dict[str, Any] = {
            "repairs": list(self.repairs),
            "kept_preamble": self.kept_preamble,
            "kept": dict(self.kept),
            "wanted": list(self.wanted),
        }
        return {key: value for key, value in extra.items() if value}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "ItemState":
        """Rebuild from ``to_json`` output."""
        return cls(
            area=str(raw["area"]),
            language=Language(raw["language"]),
            phase=Phase(raw["phase"]),
            attempt=int(raw["attempt"]),
            previous=str(raw["previous"]),
            problems=tuple(str(p) for p in raw["problems"]),
            markdown=str(raw["markdown"]),
            status=DigestStatus(raw["status"]) if raw["status"] else None,
            reason=str(raw["reason"]),
            backend=str(raw["backend"]),
            repairs=tuple(str(k) for k in raw.get("repairs", ())),
            kept_preamble=str(raw.get("kept_preamble", "")),
            kept={str(k): str(v) for k, v in dict(raw.get("kept", {})).items()},
            wanted=tuple(str(t) for t in raw.get("wanted", ())),
        )


def item_request_id(item: ItemState) -> str:
    return f"{item.area}.{item.language.value}.{item.attempt}"


def outcome_json(outcome: StageOutcome) -> dict[str, str]:
    return {
        "area": outcome.area,
        "language": outcome.language,
        "stage": outcome.stage,
        "outcome": outcome.outcome,
        "reason": outcome.reason,
        "request_id": outcome.request_id,
    }


def outcome_counts(outcomes: Iterable[StageOutcome]) -> dict[str, int]:
    """How many outcomes of each kind (for logs and summaries)."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    return counts


#: rounds the slowest item may still need: English, its retry, Chinese, its retry
ITEM_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class RunLimits:
    """Concurrency, time and round bounds of a run (from settings)."""

    max_concurrency: int = 4
    run_deadline: float = 3600.0
    #: input-required rounds a client allows (the SDKs' default cap is 10)
    round_budget: int = 10
    #: sustained requests per second the rounds may ask of a client (0: unpaced)
    rate_limit: float = 0.0

    def round_pause(self, batch: int) -> float:
        """Seconds the next round waits after one of ``batch`` requests, so that the rounds'
        sustained request rate stays within ``rate_limit``."""
        return batch / self.rate_limit if self.rate_limit > 0 else 0.0

    def round_batch(self, round_number: int, unfinished: int) -> int:
        """Requests to issue in input-required round ``round_number``.

        ``max_concurrency`` while the remaining rounds can absorb the unfinished items at that
        pace; larger batches when they cannot, so the run ends within ``round_budget``.
        """
        spare = self.round_budget - round_number + 1 - (ITEM_ROUNDS - 1)
        if spare <= 1:
            return max(1, unfinished)
        return max(self.max_concurrency, -(-unfinished // spare))


def first_leaf(exc: Exception) -> Exception:
    """The error inside task-group wrapping (callers expect ``WriteError``, not a group)."""
    while isinstance(exc, ExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def rejected(outcomes: tuple[StageOutcome, ...], request_id: str) -> bool:
    """Whether the reply to ``request_id`` failed validation (a retry or fallback followed)."""
    return any(o.request_id == request_id and o.outcome in ("retried", "error") for o in outcomes)
