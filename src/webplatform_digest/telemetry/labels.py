"""Label values of the metric catalogue: fixed sets, so label cardinality never grows. Pure.

Every label value is taken from a set known in advance; a value outside its set (an unknown
area, a backend or tool name a client made up, a new error reason) is reported as ``other``.
Area ids come from the configured focus-area catalogue, passed in by the caller.
"""

from collections.abc import Iterable

from webplatform_digest.digest.repair import REPAIR_KINDS as REPAIR_KINDS
from webplatform_digest.events import OUTCOMES, STAGES

OTHER = "other"

BACKENDS = ("sampling", "openai", "offline")
TOOLS = (
    "process_release_notes",
    "webplatform_digest",
    "get_digest_progress",
    "generate_github_pages",
    "list_focus_areas",
    "check_latest_releases",
    "fetch_release_notes",
    "telemetry_summary",
    "search_features",
)
TOOL_OUTCOMES = ("ok", "error")
LANGUAGES = ("en", "zh", "all")
AREA_OUTCOMES = ("ok", "retried", "repaired", "partial", "fallback", "error", "cached", "empty")
STAGE_OUTCOMES = (*OUTCOMES, "empty")
RETRY_REASONS = ("timeout", "backend_error", "circuit_open", "rate_limited", "invalid_reply")
#: the governor reports the error class that caused a retry
_RETRY_ALIASES = {
    "LLMTimeoutError": "timeout",
    "BackendError": "backend_error",
    "RateLimitedError": "rate_limited",
    "CircuitOpenError": "circuit_open",
}
BREAKER_STATES = {"closed": 0, "open": 1, "half_open": 2}
CACHES = ("reply", "area_data")
WRITE_KINDS = ("digest", "page", "site", "area_data", "release_notes", "ledger", "cache", "other")
WRITE_OUTCOMES = ("written", "unchanged", "coalesced", "removed", "error")
PROGRESS_OUTCOMES = ("written", "throttled")
RUN_STATUSES = ("completed", "failed", "interrupted", "cancelled")
FETCH_KINDS = ("stable", "beta", "webgpu", "listing", "probe")
FETCH_OUTCOMES = (
    "ok",
    "present",
    "not_found",
    "http_error",
    "timeout",
    "network",
    "too_large",
    "truncated",
    "redirect_refused",
    "not_html",
    "unconvertible",
    "error",
)
CHANNELS = ("stable", "beta")

#: the stage → language pairs a run produces (created at start with outcome ``ok``)
STAGE_LANGUAGES = tuple(
    (stage, "en" if stage.startswith("english") else "zh" if "translation" in stage else "all")
    for stage in STAGES
)


def bounded(value: str, allowed: Iterable[str]) -> str:
    """``value`` if it is in ``allowed``, else ``other`` (keeps label cardinality fixed)."""
    return value if value in allowed else OTHER


def language_label(language: str) -> str:
    """``en``/``zh`` as given; empty (area or run totals) → ``all``; anything else → ``other``."""
    return "all" if not language else bounded(language, LANGUAGES)


def repair_kinds(reason: str) -> tuple[str, ...]:
    """The repair kinds a stage reason lists (``repairs: chatter, heading_level; …``), bounded.

    The digest run reports an accepted reply's repairs in its stage outcome's reason.
    """
    head = reason.split(";", 1)[0].strip()
    if not head.startswith("repairs:"):
        return ()
    kinds = (k.strip() for k in head.removeprefix("repairs:").split(","))
    return tuple(bounded(k, REPAIR_KINDS) for k in kinds if k)


def retry_reason(reason: str) -> str:
    """A retry reason or the governor's error-class name as one of ``RETRY_REASONS``."""
    return bounded(_RETRY_ALIASES.get(reason, reason), RETRY_REASONS)
