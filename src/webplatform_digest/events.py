"""Telemetry events (frozen values) and the hook protocol that consumes them.

Producers (governor, digest run, write queue, pages, monitor, server) build an event and call
``Telemetry.emit``. Hooks (Prometheus, JSONL, progress file, run registry, MCP progress) turn
events into their own output. A hook must not block and must not raise; ``Telemetry`` isolates
a faulty hook so instrumentation can never break the work it observes.
"""

import logging
from dataclasses import dataclass
from typing import Protocol, TypeVar

log = logging.getLogger(__name__)

#: stage names (ARCHITECTURE §6)
STAGES = (
    "english_generation",
    "english_retry",
    "english_fallback",
    "translation",
    "translation_retry",
    "translation_fallback",
    "area_total",
    "run_total",
)
#: stage outcomes
OUTCOMES = (
    "ok",
    "retried",
    "repaired",
    "partial",
    "fallback",
    "error",
    "cached",
    "timeout",
    "rejected_open",
)
#: per-attempt LLM outcomes
ATTEMPT_OUTCOMES = (
    "success",
    "timeout",
    "error",
    "rejected_open",
    "rate_limited",
    "rejected",
    "cancelled",
    "cached",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of all events; ``run_id`` ties an event to a digest run when there is one."""

    run_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LLMAttempt(Event):
    """One attempt of a governed LLM call (or a cache answer in place of one)."""

    backend: str
    stage: str
    language: str
    area: str
    attempt: int
    outcome: str
    wait_seconds: float = 0.0
    service_seconds: float = 0.0
    error_class: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryScheduled(Event):
    """The governor will retry a call after ``delay_seconds``."""

    backend: str
    stage: str
    attempt: int
    delay_seconds: float
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BreakerTransition(Event):
    """The circuit breaker of a backend changed state (closed, open, half_open)."""

    backend: str
    from_state: str
    to_state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimitWait(Event):
    """Time an attempt waited for a rate-limit token."""

    backend: str
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ConcurrencyChanged(Event):
    """LLM calls in flight and the effective concurrency limit."""

    in_flight: int
    limit: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheLookup(Event):
    """A cache lookup; ``cache``: ``reply`` or ``area_data``; ``layer``: memory, disk or miss."""

    cache: str
    hit: bool
    layer: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StageFinished(Event):
    """A stage of one area (or the whole run) finished with an outcome."""

    area: str
    stage: str
    language: str
    outcome: str
    seconds: float
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(Event):
    """A digest run began."""

    version: int
    channel: str
    areas: tuple[str, ...]
    languages: tuple[str, ...]
    backend: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(Event):
    """A digest run ended: ``completed``, ``failed``, ``interrupted`` or ``cancelled``."""

    status: str
    seconds: float
    llm_calls: int = 0
    cache_hits: int = 0
    fallbacks: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class RunProgress(Event):
    """A digest run advanced: ``completed`` of ``total`` (area, language) digests are ready."""

    completed: int
    total: int
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FileWritten(Event):
    """One write job finished: ``written``, ``unchanged``, ``coalesced`` or ``error``."""

    outcome: str
    bytes: int = 0
    kind: str = "other"
    wait_seconds: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteQueueDepth(Event):
    """Jobs waiting in the write queue."""

    depth: int


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkspaceLockWait(Event):
    """Time the writer waited for the inter-process workspace lock: ``acquired`` or ``timeout``."""

    seconds: float
    outcome: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PagesGenerated(Event):
    """A site generation finished: page files rendered and what the commit did with them."""

    pages: int
    written: int
    unchanged: int
    removed: int
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgressWritten(Event):
    """Progress-file updates that were ``written`` or ``throttled`` (``count`` of them)."""

    outcome: str
    count: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ToolCalled(Event):
    """An MCP tool call finished with ``ok`` or ``error``."""

    tool: str
    outcome: str
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchFinished(Event):
    """A release-monitor download finished."""

    kind: str
    outcome: str
    seconds: float
    status: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseProcessed(Event):
    """A release note was parsed and classified and its per-area files were written."""

    version: int
    channel: str
    features: int
    areas: int
    written: int
    unchanged: int
    removed: int = 0
    unclassified: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class LoopLag(Event):
    """How late the event loop woke a timer: time that everything on the loop waited."""

    seconds: float


class TelemetryHook(Protocol):
    """Consumes events. Must return quickly and never raise."""

    def handle(self, event: Event) -> None:
        """Take one event."""
        ...


class Telemetry:
    """Fans events out to hooks; a failing hook is logged and skipped, never propagated."""

    def __init__(self, hooks: tuple[TelemetryHook, ...] = ()) -> None:
        self._hooks: list[TelemetryHook] = list(hooks)

    def add(self, hook: TelemetryHook) -> None:
        """Attach another hook (wiring time only)."""
        self._hooks.append(hook)

    def emit(self, event: Event) -> None:
        """Deliver ``event`` to every hook."""
        for hook in tuple(self._hooks):
            try:
                hook.handle(event)
            except Exception:  # instrumentation must never break the work it observes
                log.exception("telemetry hook %s failed", type(hook).__name__)


_E = TypeVar("_E", bound=Event)


class RecordingHook:
    """Keeps every event in memory; used by tests and benchmarks."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def handle(self, event: Event) -> None:
        """Record the event."""
        self.events.append(event)

    def of(self, kind: type[_E]) -> list[_E]:
        """Recorded events of one type."""
        return [e for e in self.events if isinstance(e, kind)]
