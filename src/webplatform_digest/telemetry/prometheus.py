"""The Prometheus metric catalogue: one hook that turns telemetry events into metrics.

Every metric lives on the ``CollectorRegistry`` the container hands in (never the global one),
so two containers in one process never clash. Label values come from fixed sets only: an area,
backend, tool or kind that is not in its set is counted as ``other``, so a client sending
10 000 area names cannot grow the series count. Label sets known in advance are created at
start with value 0, so ``rate()`` works from the first scrape and dashboards are never empty.
"""

from collections.abc import Callable
from importlib import metadata
from typing import Any, TypeVar

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import choose_encoder

from webplatform_digest.events import (
    ATTEMPT_OUTCOMES,
    STAGES,
    BreakerTransition,
    CacheLookup,
    ConcurrencyChanged,
    Event,
    FetchFinished,
    FileWritten,
    LLMAttempt,
    LoopLag,
    PagesGenerated,
    ProgressWritten,
    RateLimitWait,
    ReleaseProcessed,
    RetryScheduled,
    RunFinished,
    RunStarted,
    StageFinished,
    ToolCalled,
    WorkspaceLockWait,
    WriteQueueDepth,
)
from webplatform_digest.telemetry.labels import (
    AREA_OUTCOMES,
    BACKENDS,
    BREAKER_STATES,
    CACHES,
    CHANNELS,
    FETCH_KINDS,
    FETCH_OUTCOMES,
    OTHER,
    PROGRESS_OUTCOMES,
    REPAIR_KINDS,
    RETRY_REASONS,
    RUN_STATUSES,
    STAGE_LANGUAGES,
    STAGE_OUTCOMES,
    TOOL_OUTCOMES,
    TOOLS,
    WRITE_KINDS,
    WRITE_OUTCOMES,
    bounded,
    language_label,
    repair_kinds,
    retry_reason,
)

NAMESPACE = "webplatform_digest"
_M = TypeVar("_M", Counter, Gauge, Histogram)
#: LLM latencies span 0.1 s (cached/offline) to the 120 s attempt timeout
LLM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)
#: queue and limiter waits: sub-millisecond when idle, seconds under backpressure
WAIT_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0)
TOOL_BUCKETS = (0.05, 0.25, 1.0, 5.0, 30.0, 300.0)
RUN_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0)
FETCH_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0)
#: event-loop lag: a healthy loop stays under 15 ms
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

_EXEMPLAR_MAX = 64  # OpenMetrics caps exemplar labels at 128 characters in total


def render_metrics(registry: CollectorRegistry, accept_header: str = "") -> tuple[bytes, str]:
    """Exposition of ``registry`` for a ``/metrics`` response: ``(body, content_type)``.

    Plain text 0.0.4 by default; OpenMetrics (with exemplars) when the Accept header asks.
    """
    encoder, content_type = choose_encoder(accept_header)
    return encoder(registry), content_type


def _package_version() -> str:
    try:
        return metadata.version("webplatform-digest")
    except metadata.PackageNotFoundError:
        return "unknown"


class PrometheusHook:
    """Telemetry hook that owns the metric catalogue on ``registry``.

    ``area_ids`` is the configured focus-area catalogue: the only area label values besides
    ``other``. ``_created`` series are disabled (process-wide) because they double the series
    count and the text format gives Prometheus no use for them.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        area_ids: tuple[str, ...],
        *,
        process_metrics: bool = True,
    ) -> None:
        disable_created_metrics()
        self.registry = registry
        self._areas = frozenset(area_ids)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self._limit: int | None = None
        self._build_stage_metrics(registry)
        self._build_llm_metrics(registry)
        self._build_io_metrics(registry)
        self._build_service_metrics(registry)
        if process_metrics:
            ProcessCollector(registry=registry)
        self._initialise(tuple(sorted(self._areas)))
        self._handlers: dict[type[Event], Callable[[Event], None]] = {
            StageFinished: self._on_stage,
            LLMAttempt: self._on_attempt,
            RetryScheduled: self._on_retry,
            BreakerTransition: self._on_breaker,
            RateLimitWait: self._on_rate_limit,
            ConcurrencyChanged: self._on_concurrency,
            CacheLookup: self._on_cache,
            FileWritten: self._on_file,
            WriteQueueDepth: self._on_queue_depth,
            ProgressWritten: self._on_progress,
            RunStarted: self._on_run_started,
            RunFinished: self._on_run_finished,
            ToolCalled: self._on_tool,
            FetchFinished: self._on_fetch,
            WorkspaceLockWait: self._on_lock_wait,
            ReleaseProcessed: self._on_release,
            PagesGenerated: self._on_pages,
            LoopLag: self._on_loop_lag,
        }

    def handle(self, event: Event) -> None:
        """Update the metrics an event concerns; unknown event types are ignored."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    def _child(self, metric: _M, *values: str) -> _M:
        """``metric.labels(*values)``, cached: label sets are bounded and lookups are hot."""
        key = (id(metric), values)
        child: _M | None = self._children.get(key)
        if child is None:
            child = metric.labels(*values)
            self._children[key] = child
        return child

    # Catalogue ---------------------------------------------------------------------------

    def _build_stage_metrics(self, r: CollectorRegistry) -> None:
        self.stage_duration = _histogram(
            r, "stage_duration_seconds", "Duration of a digest stage of one area (or the whole "
            "run) by outcome.", ("stage", "language", "outcome"), LLM_BUCKETS,
        )  # fmt: skip
        self.area_results = _counter(
            r, "area_results", "Areas finished by digest runs, by catalogue area and final "
            "outcome.", ("area", "outcome"),
        )  # fmt: skip
        self.digest_repairs = _counter(
            r, "digest_repairs", "Format repairs applied to accepted LLM replies, by language "
            "and kind.", ("language", "kind"),
        )  # fmt: skip
        self.runs = _counter(r, "runs", "Digest runs finished, by status.", ("status",))
        self.runs_in_progress = _gauge(r, "runs_in_progress", "Digest runs not yet finished.")
        self.run_duration = _histogram(
            r, "run_duration_seconds", "Wall time of whole digest runs.", (), RUN_BUCKETS
        )

    def _build_llm_metrics(self, r: CollectorRegistry) -> None:
        self.llm_attempts = _counter(
            r, "llm_attempts", "LLM call attempts (or cache answers in place of one) by backend "
            "and outcome.", ("backend", "outcome"),
        )  # fmt: skip
        self.llm_attempt_duration = _histogram(
            r, "llm_attempt_duration_seconds", "Backend service time of LLM attempts that "
            "reached the backend.", ("backend",), LLM_BUCKETS,
        )  # fmt: skip
        self.llm_attempt_wait = _histogram(
            r, "llm_attempt_wait_seconds", "Time LLM attempts waited for a concurrency slot "
            "and a rate-limit token.", (), WAIT_BUCKETS,
        )  # fmt: skip
        self.llm_retries = _counter(
            r, "llm_retries", "LLM retries scheduled, by backend and reason.", ("backend", "reason")
        )
        self.breaker_state = _gauge(
            r, "circuit_breaker_state", "Circuit breaker state per backend: 0 closed, 1 open, "
            "2 half-open.", ("backend",),
        )  # fmt: skip
        self.breaker_transitions = _counter(
            r, "circuit_breaker_transitions", "Circuit breaker state changes per backend, by "
            "the state entered.", ("backend", "state"),
        )  # fmt: skip
        self.rate_limiter_wait = _histogram(
            r, "rate_limiter_wait_seconds", "Time LLM attempts waited for a rate-limit token.",
            (), WAIT_BUCKETS,
        )  # fmt: skip
        self.in_flight = _gauge(r, "llm_calls_in_flight", "LLM attempts holding a slot.")
        self.concurrency_limit = _gauge(
            r, "llm_concurrency_limit", "Effective LLM concurrency limit (lowered under pressure)."
        )
        self.cache_lookups = _counter(
            r, "cache_lookups", "Cache lookups by cache (reply, area_data) and result (hit, "
            "miss).", ("cache", "result"),
        )  # fmt: skip

    def _build_io_metrics(self, r: CollectorRegistry) -> None:
        self.write_queue_depth = _gauge(r, "write_queue_depth", "Write jobs waiting in the queue.")
        self.write_wait = _histogram(
            r, "write_wait_seconds", "Time write jobs waited in the queue before being applied.",
            (), WAIT_BUCKETS,
        )  # fmt: skip
        self.file_writes = _counter(
            r, "file_writes", "Write jobs by kind and outcome (written, unchanged, coalesced, "
            "error).", ("kind", "outcome"),
        )  # fmt: skip
        self.written_bytes = _counter(
            r, "file_written_bytes", "Bytes written to the workspace, by kind.", ("kind",)
        )
        self.lock_wait = _histogram(
            r, "workspace_lock_wait_seconds", "Time the writer waited for the inter-process "
            "workspace lock.", (), WAIT_BUCKETS,
        )  # fmt: skip
        self.lock_timeouts = _counter(
            r, "workspace_lock_timeouts", "Times the workspace lock was not acquired in time.", ()
        )
        self.progress_updates = _counter(
            r, "progress_updates", "Progress-file updates: written, or throttled by the "
            "minimum interval.", ("outcome",),
        )  # fmt: skip

    def _build_service_metrics(self, r: CollectorRegistry) -> None:
        self.tool_calls = _counter(
            r, "tool_calls", "MCP tool calls by tool and outcome.", ("tool", "outcome")
        )
        self.tool_duration = _histogram(
            r, "tool_duration_seconds", "Duration of MCP tool calls by tool.", ("tool",),
            TOOL_BUCKETS,
        )  # fmt: skip
        self.fetches = _counter(
            r, "fetches", "Release-monitor downloads by kind and outcome.", ("kind", "outcome")
        )
        self.fetch_duration = _histogram(
            r, "fetch_duration_seconds", "Duration of release-monitor downloads.", (),
            FETCH_BUCKETS,
        )  # fmt: skip
        self.releases = _counter(
            r, "releases_processed", "Release notes parsed, classified and written per area.",
            ("channel",),
        )  # fmt: skip
        self.features = _counter(
            r, "release_features", "Features of processed release notes, by whether a "
            "configured area matched them (unmatched ones go to the area other).", ("classified",),
        )  # fmt: skip
        self.site_builds = _counter(r, "site_builds", "Site generations (GitHub Pages).", ())
        self.site_files = _counter(
            r, "site_files", "Site page files by what the generation did with them.", ("outcome",)
        )
        self.site_duration = _histogram(
            r, "site_build_duration_seconds", "Duration of site generations.", (), FETCH_BUCKETS
        )
        self.loop_lag = _histogram(
            r, "event_loop_lag_seconds", "How late the server's event loop woke a periodic "
            "timer: the time every request on the loop waited.", (), LAG_BUCKETS,
        )  # fmt: skip
        build = Info("build", "Version of webplatform-digest.", namespace=NAMESPACE, registry=r)
        build.info({"version": _package_version()})

    def _initialise(self, areas: tuple[str, ...]) -> None:
        """Create every label set known in advance with value 0."""
        for stage, language in STAGE_LANGUAGES:
            self.stage_duration.labels(stage, language, "ok")
        for area in (*areas, OTHER):  # the common outcomes; the rare ones appear when they occur
            for outcome in ("ok", "fallback", "error"):
                self.area_results.labels(area, outcome)
        for backend in BACKENDS:
            self._initialise_backend(backend)
        for cache in CACHES:
            self.cache_lookups.labels(cache, "hit")
            self.cache_lookups.labels(cache, "miss")
        for status in RUN_STATUSES:
            self.runs.labels(status)
        for language in ("en", "zh"):
            for kind in REPAIR_KINDS:
                self.digest_repairs.labels(language, kind)
        self._initialise_io()

    def _initialise_io(self) -> None:
        for kind in WRITE_KINDS:
            self.written_bytes.labels(kind)
            self.file_writes.labels(kind, "written")
            self.file_writes.labels(kind, "error")
        for outcome in PROGRESS_OUTCOMES:
            self.progress_updates.labels(outcome)
        for tool in TOOLS:
            self.tool_duration.labels(tool)
            for outcome in TOOL_OUTCOMES:
                self.tool_calls.labels(tool, outcome)
        for kind in FETCH_KINDS:
            for outcome in ("ok", "not_found", "error"):
                self.fetches.labels(kind, outcome)
        for channel in CHANNELS:
            self.releases.labels(channel)
        self.features.labels("yes")
        self.features.labels("no")

    def _initialise_backend(self, backend: str) -> None:
        for outcome in ATTEMPT_OUTCOMES:
            self.llm_attempts.labels(backend, outcome)
        for reason in (*RETRY_REASONS, OTHER):
            self.llm_retries.labels(backend, reason)
        for state in BREAKER_STATES:
            self.breaker_transitions.labels(backend, state)
        self.llm_attempt_duration.labels(backend)
        self.breaker_state.labels(backend).set(0)

    # Event handlers ----------------------------------------------------------------------

    def _on_stage(self, event: Event) -> None:
        assert isinstance(event, StageFinished)
        outcome = bounded(event.outcome, STAGE_OUTCOMES)
        stage = bounded(event.stage, STAGES)
        # an exemplar doubles the cost of an observation: only totals link back to their run
        exemplar = _exemplar(event.run_id) if stage in _TOTALS else None
        self._child(self.stage_duration, stage, language_label(event.language), outcome).observe(
            max(0.0, event.seconds), exemplar
        )
        if outcome == "repaired":
            for kind in repair_kinds(event.reason):
                self._child(self.digest_repairs, language_label(event.language), kind).inc()
        if event.stage == "area_total":
            area = bounded(event.area, self._areas)
            self._child(self.area_results, area, bounded(event.outcome, AREA_OUTCOMES)).inc()

    def _on_attempt(self, event: Event) -> None:
        assert isinstance(event, LLMAttempt)
        backend = bounded(event.backend, BACKENDS)
        self._child(self.llm_attempts, backend, bounded(event.outcome, ATTEMPT_OUTCOMES)).inc()
        if event.outcome in _SERVED_OUTCOMES:
            self._child(self.llm_attempt_duration, backend).observe(max(0.0, event.service_seconds))
        if event.outcome != "cached":
            self.llm_attempt_wait.observe(max(0.0, event.wait_seconds))

    def _on_retry(self, event: Event) -> None:
        assert isinstance(event, RetryScheduled)
        reason = retry_reason(event.reason)
        self._child(self.llm_retries, bounded(event.backend, BACKENDS), reason).inc()

    def _on_breaker(self, event: Event) -> None:
        assert isinstance(event, BreakerTransition)
        backend = bounded(event.backend, BACKENDS)
        if event.to_state in BREAKER_STATES:
            self._child(self.breaker_state, backend).set(BREAKER_STATES[event.to_state])
            self._child(self.breaker_transitions, backend, event.to_state).inc()

    def _on_rate_limit(self, event: Event) -> None:
        assert isinstance(event, RateLimitWait)
        self.rate_limiter_wait.observe(max(0.0, event.seconds))

    def _on_concurrency(self, event: Event) -> None:
        assert isinstance(event, ConcurrencyChanged)
        self.in_flight.set(event.in_flight)
        if event.limit != self._limit:  # changes only under resource pressure
            self._limit = event.limit
            self.concurrency_limit.set(event.limit)

    def _on_loop_lag(self, event: Event) -> None:
        assert isinstance(event, LoopLag)
        self.loop_lag.observe(max(0.0, event.seconds))

    def _on_cache(self, event: Event) -> None:
        assert isinstance(event, CacheLookup)
        result = "hit" if event.hit else "miss"
        self._child(self.cache_lookups, bounded(event.cache, CACHES), result).inc()

    def _on_file(self, event: Event) -> None:
        assert isinstance(event, FileWritten)
        kind = bounded(event.kind, WRITE_KINDS)
        self._child(self.file_writes, kind, bounded(event.outcome, WRITE_OUTCOMES)).inc()
        if event.outcome == "written":
            self._child(self.written_bytes, kind).inc(max(0, event.bytes))
        self.write_wait.observe(max(0.0, event.wait_seconds))

    def _on_queue_depth(self, event: Event) -> None:
        assert isinstance(event, WriteQueueDepth)
        self.write_queue_depth.set(event.depth)

    def _on_progress(self, event: Event) -> None:
        assert isinstance(event, ProgressWritten)
        outcome = bounded(event.outcome, PROGRESS_OUTCOMES)
        self._child(self.progress_updates, outcome).inc(max(0, event.count))

    def _on_run_started(self, event: Event) -> None:
        self.runs_in_progress.inc()

    def _on_run_finished(self, event: Event) -> None:
        assert isinstance(event, RunFinished)
        self.runs_in_progress.dec()
        self._child(self.runs, bounded(event.status, RUN_STATUSES)).inc()
        self.run_duration.observe(max(0.0, event.seconds))

    def _on_tool(self, event: Event) -> None:
        assert isinstance(event, ToolCalled)
        tool = bounded(event.tool, TOOLS)
        self._child(self.tool_calls, tool, bounded(event.outcome, TOOL_OUTCOMES)).inc()
        self._child(self.tool_duration, tool).observe(max(0.0, event.seconds))

    def _on_lock_wait(self, event: Event) -> None:
        assert isinstance(event, WorkspaceLockWait)
        self.lock_wait.observe(max(0.0, event.seconds))
        if event.outcome == "timeout":
            self.lock_timeouts.inc()

    def _on_release(self, event: Event) -> None:
        assert isinstance(event, ReleaseProcessed)
        self._child(self.releases, bounded(event.channel, CHANNELS)).inc()
        unclassified = max(0, min(event.unclassified, event.features))
        self._child(self.features, "yes").inc(max(0, event.features - unclassified))
        self._child(self.features, "no").inc(unclassified)

    def _on_pages(self, event: Event) -> None:
        assert isinstance(event, PagesGenerated)
        self.site_builds.inc()
        for outcome, count in (
            ("written", event.written),
            ("unchanged", event.unchanged),
            ("removed", event.removed),
        ):
            self._child(self.site_files, outcome).inc(max(0, count))
        self.site_duration.observe(max(0.0, event.seconds))

    def _on_fetch(self, event: Event) -> None:
        assert isinstance(event, FetchFinished)
        kind = bounded(event.kind, FETCH_KINDS)
        self._child(self.fetches, kind, bounded(event.outcome, FETCH_OUTCOMES)).inc()
        self.fetch_duration.observe(max(0.0, event.seconds))


#: attempts that reached the backend and therefore have a service time
_TOTALS = frozenset({"area_total", "run_total"})
_SERVED_OUTCOMES = frozenset({"success", "timeout", "error", "rate_limited", "rejected"})


def _counter(r: CollectorRegistry, name: str, doc: str, labels: tuple[str, ...]) -> Counter:
    return Counter(name, doc, labels, namespace=NAMESPACE, registry=r)


def _gauge(r: CollectorRegistry, name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
    return Gauge(name, doc, labels, namespace=NAMESPACE, registry=r)


def _histogram(
    r: CollectorRegistry,
    name: str,
    doc: str,
    labels: tuple[str, ...],
    buckets: tuple[float, ...],
) -> Histogram:
    return Histogram(name, doc, labels, namespace=NAMESPACE, buckets=buckets, registry=r)


def _exemplar(run_id: str | None) -> dict[str, str] | None:
    """An exemplar linking a sample to its run (OpenMetrics only; never a label)."""
    if run_id and len(run_id) <= _EXEMPLAR_MAX:
        return {"run_id": run_id}
    return None


def new_prometheus_hook(area_ids: tuple[str, ...]) -> PrometheusHook:
    """A hook on a fresh ``CollectorRegistry`` (one per container, never the global one)."""
    return PrometheusHook(CollectorRegistry(), area_ids)
