"""The metric catalogue: exposed at start, updated by events, bounded labels, valid exposition."""

import re
import subprocess
from collections.abc import Sequence

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import require_executable
from tests.telemetry.run_events import simulated_run_events
from webplatform_digest.events import (
    BreakerTransition,
    CacheLookup,
    ConcurrencyChanged,
    Event,
    FetchFinished,
    FileWritten,
    LLMAttempt,
    PagesGenerated,
    ProgressWritten,
    RateLimitWait,
    ReleaseProcessed,
    RetryScheduled,
    RunFinished,
    RunStarted,
    StageFinished,
    Telemetry,
    ToolCalled,
    WorkspaceLockWait,
    WriteQueueDepth,
)
from webplatform_digest.telemetry.prometheus import PrometheusHook, render_metrics

AREAS = (
    "css",
    "javascript",
    "webgpu",
    "security",
    "performance",
    "devices",
    "graphics",
    "media",
    "network",
    "pwa",
    "storage",
    "accessibility",
    "identity",
    "payments",
    "ai",
    "webassembly",
    "html-dom",
    "navigation",
    "isolation",
    "other-apis",
)
#: series budget after a full run with a 20-area catalogue (promtool --extended; measured 594:
#: 434 fixed, 3 per catalogue area, 14 per stage/language/outcome histogram set that occurs)
SERIES_BUDGET = 700
P = "webplatform_digest_"


def _hook(areas: tuple[str, ...] = AREAS) -> tuple[PrometheusHook, CollectorRegistry]:
    registry = CollectorRegistry()
    return PrometheusHook(registry, areas), registry


def _emit(hook: PrometheusHook, events: Sequence[Event]) -> None:
    telemetry = Telemetry((hook,))
    for event in events:
        telemetry.emit(event)


def _value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(P + name, labels)


def test_catalogue_is_exposed_at_startup_with_zero_valued_series() -> None:
    """Before any event, every family and every label set known in advance exists at 0."""
    _, registry = _hook()
    assert _value(registry, "llm_attempts_total", backend="openai", outcome="success") == 0.0
    assert _value(registry, "llm_attempts_total", backend="sampling", outcome="timeout") == 0.0
    assert _value(registry, "circuit_breaker_state", backend="sampling") == 0.0
    assert _value(registry, "runs_total", status="failed") == 0.0
    assert _value(registry, "cache_lookups_total", cache="area_data", result="hit") == 0.0
    assert _value(registry, "file_writes_total", kind="digest", outcome="error") == 0.0
    assert _value(registry, "progress_updates_total", outcome="throttled") == 0.0
    assert _value(registry, "tool_calls_total", tool="telemetry_summary", outcome="error") == 0.0
    for area in (*AREAS, "other"):
        assert _value(registry, "area_results_total", area=area, outcome="fallback") == 0.0
    assert (
        _value(
            registry,
            "stage_duration_seconds_count",
            stage="translation",
            language="zh",
            outcome="ok",
        )
        == 0.0
    )
    assert _value(registry, "write_queue_depth") == 0.0
    assert _value(registry, "build_info", version=_version(registry)) == 1.0


def _version(registry: CollectorRegistry) -> str:
    for family in registry.collect():
        if family.name == P + "build":
            return family.samples[0].labels["version"]
    raise AssertionError("build info missing")


def test_each_event_type_updates_its_series() -> None:
    """One event of every type moves exactly the series it concerns."""
    hook, r = _hook()
    _emit(
        hook,
        [
            StageFinished(area="css", stage="translation", language="zh", outcome="ok", seconds=3),
            StageFinished(area="css", stage="area_total", language="", outcome="ok", seconds=9),
            LLMAttempt(
                backend="openai",
                stage="translation",
                language="zh",
                area="css",
                attempt=1,
                outcome="success",
                wait_seconds=0.2,
                service_seconds=2.5,
            ),
            RetryScheduled(
                backend="openai",
                stage="translation",
                attempt=1,
                delay_seconds=1,
                reason="rate_limited",
            ),
            LLMAttempt(
                backend="openai",
                stage="translation",
                language="zh",
                area="css",
                attempt=1,
                outcome="rate_limited",
                service_seconds=0.5,
            ),
            RateLimitWait(backend="openai", seconds=0.3),
            ConcurrencyChanged(in_flight=3, limit=4),
            CacheLookup(cache="reply", hit=True, layer="disk"),
            FileWritten(outcome="written", bytes=1234, kind="digest", wait_seconds=0.004),
            WriteQueueDepth(depth=7),
            ProgressWritten(outcome="throttled", count=3),
            ToolCalled(tool="list_focus_areas", outcome="ok", seconds=0.01),
            FetchFinished(kind="beta", outcome="not_found", seconds=0.2, status=404),
            WorkspaceLockWait(seconds=0.5, outcome="acquired"),
            WorkspaceLockWait(seconds=30.0, outcome="timeout"),
            ReleaseProcessed(
                version=144,
                channel="beta",
                features=40,
                areas=12,
                written=12,
                unchanged=0,
                unclassified=3,
            ),
        ],
    )
    stage = {"stage": "translation", "language": "zh", "outcome": "ok"}
    assert _value(r, "stage_duration_seconds_sum", **stage) == 3.0
    area_total = {"stage": "area_total", "language": "all", "outcome": "ok"}
    assert _value(r, "stage_duration_seconds_count", **area_total) == 1.0
    assert _value(r, "area_results_total", area="css", outcome="ok") == 1.0
    assert _value(r, "llm_attempts_total", backend="openai", outcome="success") == 1.0
    assert _value(r, "llm_attempts_total", backend="openai", outcome="rate_limited") == 1.0
    assert _value(r, "llm_attempt_duration_seconds_sum", backend="openai") == 3.0
    assert _value(r, "llm_attempt_wait_seconds_sum") == pytest.approx(0.2)
    assert _value(r, "llm_retries_total", backend="openai", reason="rate_limited") == 1.0
    assert _value(r, "rate_limiter_wait_seconds_sum") == pytest.approx(0.3)
    assert (_value(r, "llm_calls_in_flight"), _value(r, "llm_concurrency_limit")) == (3.0, 4.0)
    assert _value(r, "cache_lookups_total", cache="reply", result="hit") == 1.0
    assert _value(r, "file_writes_total", kind="digest", outcome="written") == 1.0
    assert _value(r, "file_written_bytes_total", kind="digest") == 1234.0
    assert _value(r, "write_wait_seconds_count") == 1.0
    assert _value(r, "write_queue_depth") == 7.0
    assert _value(r, "progress_updates_total", outcome="throttled") == 3.0
    assert _value(r, "tool_calls_total", tool="list_focus_areas", outcome="ok") == 1.0
    assert _value(r, "tool_duration_seconds_count", tool="list_focus_areas") == 1.0
    assert _value(r, "fetches_total", kind="beta", outcome="not_found") == 1.0
    assert _value(r, "fetch_duration_seconds_count") == 1.0
    assert _value(r, "workspace_lock_wait_seconds_count") == 2.0
    assert _value(r, "workspace_lock_timeouts_total") == 1.0
    assert _value(r, "releases_processed_total", channel="beta") == 1.0
    assert _value(r, "release_features_total", classified="yes") == 37.0
    assert _value(r, "release_features_total", classified="no") == 3.0


def test_runs_are_counted_by_status_and_in_progress_goes_up_and_down() -> None:
    """RunStarted raises the in-progress gauge; RunFinished lowers it and counts the status."""
    hook, r = _hook()
    start = RunStarted(
        run_id="r1",
        version=144,
        channel="stable",
        areas=("css",),
        languages=("en",),
        backend="offline",
    )
    _emit(hook, [start])
    assert _value(r, "runs_in_progress") == 1.0
    _emit(hook, [RunFinished(run_id="r1", status="failed", seconds=12.0)])
    assert _value(r, "runs_in_progress") == 0.0
    assert _value(r, "runs_total", status="failed") == 1.0
    assert _value(r, "run_duration_seconds_sum") == 12.0


def test_breaker_state_gauge_follows_transitions() -> None:
    """The gauge reads 1 while open, 2 while half-open, 0 when closed; transitions counted."""
    hook, r = _hook()
    states: list[float | None] = []
    for old, new in (("closed", "open"), ("open", "half_open"), ("half_open", "closed")):
        _emit(hook, [BreakerTransition(backend="sampling", from_state=old, to_state=new)])
        states.append(_value(r, "circuit_breaker_state", backend="sampling"))
    assert states == [1.0, 2.0, 0.0]
    assert _value(r, "circuit_breaker_transitions_total", backend="sampling", state="open") == 1.0


def test_a_simulated_run_is_reflected_in_the_counters() -> None:
    """Counts after a 20-area run equal the counts of the events that were emitted."""
    hook, r = _hook()
    events = simulated_run_events("run-1", AREAS)
    _emit(hook, events)
    attempts = [e for e in events if isinstance(e, LLMAttempt)]
    for outcome in ("success", "timeout", "error"):
        expected = sum(1 for a in attempts if a.outcome == outcome)
        assert _value(r, "llm_attempts_total", backend="openai", outcome=outcome) == expected
    assert _value(r, "area_results_total", area="css", outcome="ok") == 1.0
    assert _value(r, "area_results_total", area="security", outcome="fallback") == 1.0
    assert _value(r, "runs_total", status="completed") == 1.0


def test_site_generations_count_builds_and_page_files_by_outcome() -> None:
    """Two generations: builds, written / unchanged / removed files and durations add up."""
    hook, r = _hook()
    _emit(
        hook,
        [
            PagesGenerated(pages=10, written=10, unchanged=0, removed=0, seconds=0.2),
            PagesGenerated(pages=11, written=2, unchanged=8, removed=1, seconds=0.1),
        ],
    )
    assert _value(r, "site_builds_total") == 2.0
    assert _value(r, "site_files_total", outcome="written") == 12.0
    assert _value(r, "site_files_total", outcome="unchanged") == 8.0
    assert _value(r, "site_files_total", outcome="removed") == 1.0
    assert _value(r, "site_build_duration_seconds_count") == 2.0


def test_unknown_area_backend_and_tool_names_are_counted_as_other() -> None:
    """Names outside the fixed sets never become label values: they all land on ``other``."""
    hook, r = _hook()
    hostile = [f"client-area-{i}" for i in range(100)]
    _emit(
        hook,
        [
            StageFinished(area=name, stage="area_total", language="", outcome="ok", seconds=1)
            for name in hostile
        ]
        + [
            LLMAttempt(
                backend="my-llm",
                stage="x",
                language="fr",
                area="x",
                attempt=1,
                outcome="weird",
                service_seconds=1,
            ),
            ToolCalled(tool="evil_tool", outcome="ok", seconds=1),
        ],
    )
    assert _value(r, "area_results_total", area="other", outcome="ok") == 100.0
    assert _value(r, "llm_attempts_total", backend="other", outcome="other") == 1.0
    assert _value(r, "tool_calls_total", tool="other", outcome="ok") == 1.0
    body, _ = render_metrics(r)
    assert b"client-area-" not in body
    assert b"my-llm" not in body
    assert b"evil_tool" not in body


def test_two_hooks_in_one_process_keep_their_own_registries() -> None:
    """Building the catalogue twice raises nothing, and events reach only their own registry."""
    first, r1 = _hook()
    _, r2 = _hook(("css",))
    _emit(first, [ToolCalled(tool="list_focus_areas", outcome="ok", seconds=0.1)])
    assert _value(r1, "tool_calls_total", tool="list_focus_areas", outcome="ok") == 1.0
    assert _value(r2, "tool_calls_total", tool="list_focus_areas", outcome="ok") == 0.0


def test_text_exposition_parses_back_with_the_prometheus_parser() -> None:
    """The plain-text scrape parses; names carry the namespace, counters end in _total."""
    hook, r = _hook()
    _emit(hook, simulated_run_events("run-1", AREAS[:5]))
    body, content_type = render_metrics(r, "")
    assert content_type.startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(body.decode())}
    ours = {n for n in families if n.startswith(P)}
    assert f"{P}llm_attempts" in ours  # the parser strips _total from counter family names
    assert families[f"{P}stage_duration_seconds"].type == "histogram"
    assert all(not n.endswith("_created") for n in families)
    samples = {s.name for f in families.values() for s in f.samples}
    assert f"{P}llm_attempts_total" in samples


def test_openmetrics_scrape_links_samples_to_runs_with_exemplars() -> None:
    """Asking for OpenMetrics gives that format, with run-id exemplars on the histograms."""
    hook, r = _hook()
    _emit(hook, simulated_run_events("run-42", AREAS[:3]))
    body, content_type = render_metrics(r, "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    exemplars = [
        s.exemplar
        for f in openmetrics_families(body.decode())
        for s in f.samples
        if s.exemplar is not None
    ]
    assert exemplars
    assert {e.labels["run_id"] for e in exemplars} == {"run-42"}


def _full_scrape() -> bytes:
    hook, r = _hook()
    _emit(hook, simulated_run_events("run-1", AREAS))
    _emit(hook, simulated_run_events("run-2", tuple(f"client-{i}" for i in range(100))))
    body, _ = render_metrics(r, "")
    return body


@pytest.mark.e2e
def test_promtool_accepts_a_real_scrape_after_a_full_run_within_the_series_budget() -> None:
    """promtool check metrics lints clean; --extended counts series under the budget."""
    promtool = require_executable("promtool")
    body = _full_scrape()
    lint = subprocess.run(
        [promtool, "check", "metrics"], input=body, capture_output=True, timeout=60, check=False
    )
    assert lint.returncode == 0, lint.stdout.decode() + lint.stderr.decode()
    extended = subprocess.run(
        [promtool, "check", "metrics", "--extended"],
        input=body,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert extended.returncode == 0, extended.stderr.decode()
    total = re.search(rb"^Total\s+(\d+)", extended.stdout, re.MULTILINE)
    assert total is not None, extended.stdout.decode()
    assert int(total.group(1)) <= SERIES_BUDGET
    assert b"client-" not in extended.stdout


def test_a_repaired_stage_counts_each_repair_kind_by_language() -> None:
    """The kinds listed in a ``repaired`` stage's reason become ``digest_repairs`` samples."""
    hook, registry = _hook()
    stage = StageFinished(
        area="css",
        stage="english_generation",
        language="en",
        outcome="repaired",
        seconds=1.0,
        reason="repairs: chatter, heading_level, made_up",
    )
    _emit(hook, [stage, stage])
    name = "digest_repairs_total"
    assert _value(registry, name, language="en", kind="chatter") == 2
    assert _value(registry, name, language="en", kind="heading_level") == 2
    assert _value(registry, name, language="en", kind="other") == 2
    assert _value(registry, name, language="zh", kind="chatter") == 0
