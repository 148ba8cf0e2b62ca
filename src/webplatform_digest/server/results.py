"""What the MCP tools return: one pydantic model per result, so clients get an output schema.

FastMCP derives each tool's ``outputSchema`` from its return annotation and sends the result
as ``structuredContent`` (and as JSON text). The JSON keys and values are a public promise, so
every model mirrors the JSON its domain value already produces (``to_json``/``to_dict``) and is
built by validating that JSON: a key added, renamed or dropped in the domain fails loudly
(``extra="forbid"``) instead of drifting away from the advertised schema.

A key that is sometimes absent (``reason``, ``backend_reason``) is excluded when unset rather
than sent as ``null``; a result with two or three shapes is a union marked as an object, since
MCP wants an object schema at the root (FastMCP would otherwise wrap it under ``result``).
"""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, GetJsonSchemaHandler, JsonValue
from pydantic.config import JsonDict
from pydantic.json_schema import JsonSchemaValue, SkipJsonSchema
from pydantic_core import CoreSchema


class ObjectSchema:
    """Marks a union of object models as an object, as MCP wants at an output schema's root."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "object", **handler(schema)}


class ToolResult(BaseModel):
    """Base of every tool result: immutable, and no key beyond the declared ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _is_empty(value: object) -> bool:
    return value == ""


def _is_no_mapping(value: object) -> bool:
    return value == {}


def _is_none(value: object) -> bool:
    return value is None


def _no_default(schema: JsonDict) -> None:
    """Drop a ``null`` default from a field whose schema says it is never null (only absent)."""
    schema.pop("default", None)


# process_release_notes -----------------------------------------------------------------------


class ProcessResult(ToolResult):
    """What processing one release did."""

    version: int
    channel: str
    areas: dict[str, int] = Field(description="Features per focus area")
    features_total: int
    links_total: int
    unclassified: list[str] = Field(description="Features that matched no focus area")
    written: list[str]
    unchanged: list[str]
    removed: list[str]
    webgpu_features: int
    source_hash: str


class ProcessAllResult(ToolResult):
    """``all=true``: one result per release note in the workspace."""

    releases: list[ProcessResult]


ProcessOutcome = Annotated[ProcessResult | ProcessAllResult, ObjectSchema()]


def process_result(summary: Mapping[str, Any]) -> ProcessResult:
    """The tool result of one release's ``ProcessSummary.to_json()``."""
    return ProcessResult.model_validate(summary)


def process_all_result(summaries: Sequence[Mapping[str, Any]]) -> ProcessAllResult:
    """The tool result of processing every release note."""
    return ProcessAllResult(releases=[process_result(s) for s in summaries])


# generate_github_pages, list_focus_areas -----------------------------------------------------


class PagesResult(ToolResult):
    """What a site generation did."""

    pages: int
    written: int
    unchanged: int
    removed: int
    wall_seconds: float
    site: str = Field(description="The site's folder, relative to the workspace")
    preview: str | None = Field(description="The HTML preview's folder, if one was rendered")
    skipped: list[str] = Field(description="Digest files that could not be read")


class FocusArea(ToolResult):
    """One focus area of the catalogue."""

    id: str
    name: str
    name_zh: str
    description: str


class FocusAreas(ToolResult):
    """The focus-area catalogue."""

    areas: list[FocusArea]


# check_latest_releases, fetch_release_notes --------------------------------------------------


class LatestRelease(ToolResult):
    """The newest note found for one channel (``version`` null when none was found)."""

    version: int | None
    url: str | None
    present: bool = Field(description="Already in the workspace")
    found_by: str
    error: str
    channel: str


class LatestReleases(ToolResult):
    """What the release check found, per channel."""

    checked_at: str
    releases: list[LatestRelease]


class FetchResult(ToolResult):
    """One release-note download."""

    version: int
    outcome: str = Field(description="fetched, unchanged, present, not_found or failed")
    path: str
    url: str
    bytes: int
    features: int
    sections: int
    fetched_at: str
    error: str
    status: int | None = Field(description="HTTP status of a failed download")
    channel: str


# webplatform_digest, get_digest_progress -----------------------------------------------------


class DigestResult(ToolResult):
    """The summary of a digest run (the same keys as ``run --json`` plus the backend)."""

    run_id: str
    status: str = Field(description="completed, failed, interrupted or cancelled")
    version: int
    channel: str
    areas: dict[str, dict[str, str]] = Field(
        description=(
            "Per area and language: ok, repaired, retried, partial, fallback, cached, empty, "
            "or kept (no model digest this run; the one written earlier was kept)"
        )
    )
    llm_calls: int
    cache_hits: int
    fallbacks: int
    wall_seconds: float
    written: list[str]
    unchanged: list[str]
    reason: str = Field(default="", exclude_if=_is_empty, description="Why the run ended early")
    kept: dict[str, dict[str, str]] = Field(
        default_factory=dict[str, dict[str, str]],
        exclude_if=_is_no_mapping,
        description="Per area and language: why the model digest on disk was kept",
    )
    round_note: str = Field(
        default="",
        exclude_if=_is_empty,
        description="Why some input-required rounds carried more requests than the limit",
    )
    backend: str = Field(description="sampling, openai or offline")
    backend_reason: str | SkipJsonSchema[None] = Field(
        default=None,
        exclude_if=_is_none,
        description="Why this backend was chosen",
        json_schema_extra=_no_default,
    )


def digest_result(
    summary: Mapping[str, Any], backend: str, backend_reason: str | None
) -> DigestResult:
    """The tool result of a ``RunSummary.to_json()`` and the backend that wrote it."""
    extra: dict[str, Any] = {"backend": backend}
    if backend_reason is not None:
        extra["backend_reason"] = backend_reason
    return DigestResult.model_validate({**summary, **extra})


class RunRecord(ToolResult):
    """One run as the registry stores it."""

    run_id: str
    status: str = Field(
        description="running, awaiting_input, completed, failed, interrupted or cancelled"
    )
    version: int
    channel: str
    params: dict[str, JsonValue]
    started_at: str
    finished_at: str | None
    results: dict[str, JsonValue] = Field(description="Per-area results so far")
    summary: dict[str, JsonValue] | None = Field(description="The final summary, once finished")
    round: int
    reason: str


class RunEvent(ToolResult):
    """One entry of a run's event log."""

    seq: int
    at: str
    kind: str
    data: dict[str, JsonValue]


class DigestProgress(ToolResult):
    """A run and its events after a sequence number."""

    run: RunRecord
    events: list[RunEvent]
    next_seq: int = Field(description="Pass as after_seq to continue")


def progress_result(report: Mapping[str, Any]) -> DigestProgress:
    """The tool result of ``progress_report``."""
    return DigestProgress.model_validate(report)


# telemetry_summary ---------------------------------------------------------------------------


class Distribution(ToolResult):
    """Count, mean, percentiles and maximum of some durations (seconds)."""

    count: int
    mean: float
    p50: float
    p95: float
    p99: float
    max: float


class Window(ToolResult):
    """First and last event time of the summary."""

    first: str | None
    last: str | None


class Rates(ToolResult):
    """Failure, timeout, retry, fallback, area-error and cache-hit rates (null: no data)."""

    failure_rate: float | None
    timeout_rate: float | None
    retry_rate: float | None
    fallback_rate: float | None
    area_error_rate: float | None
    cache_hit_rate: dict[str, float | None] = Field(description="Per cache")
    digests: int
    fallbacks: int


class LLMFigures(ToolResult):
    """LLM attempt counts: totals, per backend, per outcome, per run."""

    attempts: int
    logical_calls: int
    retries: int
    cached: int
    by_backend: dict[str, int]
    by_outcome: dict[str, int]
    calls_per_run: float | None
    service_seconds: Distribution


class SlowArea(ToolResult):
    """One of the slowest areas (values as the telemetry recorded them)."""

    area: JsonValue
    run_id: JsonValue
    seconds: float
    outcome: JsonValue


class Source(ToolResult):
    """Which telemetry files were read."""

    files: list[str]
    corrupt_lines: int
    since: str | None


class TelemetryFigures(ToolResult):
    """The summary of a set of telemetry events."""

    events: int
    window: Window
    runs: dict[str, dict[str, JsonValue]] = Field(
        description="Per run id: version, channel, backend, areas, status, started, wall_seconds"
    )
    wall_seconds: float | None
    stages: dict[str, dict[str, Distribution]] = Field(description="Per stage and language")
    rates: Rates
    llm: LLMFigures
    slowest_areas: list[SlowArea]
    event_types: dict[str, int]


class _OneRun(ToolResult):
    run_id: str


class RunFigures(TelemetryFigures, _OneRun):
    """The summary of one run's events (``run_id`` first, as the summary puts it)."""


class Change(ToolResult):
    """One figure before and after."""

    before: float | None
    after: float | None
    delta: float | None
    ratio: float | None


class WorkspaceTelemetry(TelemetryFigures):
    """No run ids: the summary of every event in the window."""

    source: Source


class RunTelemetry(RunFigures):
    """One run id: that run's summary."""

    source: Source


class ComparedTelemetry(ToolResult):
    """Two run ids: both summaries and every comparable figure before and after."""

    before: RunFigures
    after: RunFigures
    comparison: dict[str, Change]
    source: Source


TelemetryOutcome = Annotated[WorkspaceTelemetry | RunTelemetry | ComparedTelemetry, ObjectSchema()]


def telemetry_result(
    summary: Mapping[str, Any],
) -> WorkspaceTelemetry | RunTelemetry | ComparedTelemetry:
    """The tool result of ``summarise_workspace``, in the shape its run ids asked for."""
    if "comparison" in summary:
        return ComparedTelemetry.model_validate(summary)
    if "run_id" in summary:
        return RunTelemetry.model_validate(summary)
    return WorkspaceTelemetry.model_validate(summary)


# search_features -----------------------------------------------------------------------------


class FoundFeature(ToolResult):
    """One feature of one release and area."""

    version: int
    channel: str
    stage: str = Field(description="shipped, beta, origin trial or deprecated")
    area: str
    title: str
    summary: str
    chromestatus: str = Field(description="ChromeStatus entry URL, empty if the note has none")
    digest_page: str = Field(description="The digest page, relative to the site root")


class FeatureSearch(ToolResult):
    """Features matching a search, newest release first."""

    query: str
    area: str | None
    since: int | None
    until: int | None
    limit: int
    total: int = Field(description="Features matching before the limit")
    features: list[FoundFeature]
