"""Telemetry summaries over event records (dicts as read from the JSONL files). Pure.

Definitions (every rate is ``None`` when its denominator is 0):

* *attempts*: LLM attempts that were not answered by the cache; *logical calls*: attempts
  number 1 among them. A call refused by an open breaker keeps its attempt number (a refusal
  spends no attempt), so refusals count as attempts but neither as logical calls nor retries.
* ``failure_rate``: attempts that ended ``error``, ``timeout``, ``rate_limited`` or
  ``rejected_open`` / attempts.
  (``rejected``, a user declining a sampling request, and ``cancelled`` are not failures.)
* ``timeout_rate``: attempts that timed out / attempts.
* ``retry_rate``: attempts with number > 1 (retries performed) / logical calls.
* ``fallback_rate``: digests (run, area, language) that used the deterministic fallback /
  digests; a digest is any (run, area, language) with a per-language stage event.
* ``area_error_rate``: areas whose ``area_total`` outcome is ``error`` / areas finished.
* ``cache_hit_rate``: hits / lookups per cache (``reply``, ``area_data``); without lookup
  events the reply rate is cached attempts / (cached attempts + logical calls).
* Percentiles interpolate linearly between the closest ranks.
"""

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from webplatform_digest.errors import InputError

Record = dict[str, Any]

PERCENTILES = (50, 95, 99)
FALLBACK_STAGES = frozenset({"english_fallback", "translation_fallback"})
TOTAL_STAGES = frozenset({"area_total", "run_total"})
FAILED_ATTEMPTS = frozenset({"error", "timeout", "rate_limited", "rejected_open"})
SLOWEST_AREAS = 5
_SINCE = re.compile(r"^(\d{1,6})([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_RUN_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) of sorted values, linear between closest ranks."""
    if not ordered:
        return 0.0
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def distribution(values: Iterable[float]) -> dict[str, float | int]:
    """count, mean, p50, p95, p99 and max of some durations (seconds)."""
    ordered = sorted(values)
    figures: dict[str, float | int] = {"count": len(ordered)}
    figures["mean"] = round(sum(ordered) / len(ordered), 4) if ordered else 0.0
    for q in PERCENTILES:
        figures[f"p{q}"] = round(percentile(ordered, q), 4)
    figures["max"] = round(ordered[-1], 4) if ordered else 0.0
    return figures


def of_type(events: Iterable[Record], kind: str) -> list[Record]:
    """The records of one event type."""
    return [e for e in events if e.get("type") == kind]


def _number(record: Record, key: str) -> float | None:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def stage_latencies(events: Iterable[Record]) -> dict[str, dict[str, dict[str, float | int]]]:
    """Duration distribution per stage and language (``all`` for area and run totals)."""
    groups: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
    for record in of_type(events, "StageFinished"):
        seconds = _number(record, "seconds")
        if seconds is not None:
            groups[(str(record.get("stage")), str(record.get("language") or "all"))].append(seconds)
    result: dict[str, dict[str, dict[str, float | int]]] = {}
    for (stage, language), values in sorted(groups.items()):
        result.setdefault(stage, {})[language] = distribution(values)
    return result


def attempt_figures(events: Iterable[Record]) -> dict[str, Any]:
    """LLM attempt counts: totals, per backend, per outcome, per run."""
    attempts = of_type(events, "LLMAttempt")
    served = [a for a in attempts if a.get("outcome") != "cached"]
    tried = [a for a in served if a.get("outcome") != "rejected_open"]
    per_run = Counter(str(a.get("run_id")) for a in served if a.get("run_id"))
    runs = {str(r.get("run_id")) for r in of_type(events, "RunStarted") if r.get("run_id")}
    runs |= set(per_run)
    return {
        "attempts": len(served),
        "logical_calls": sum(1 for a in tried if a.get("attempt") == 1),
        "retries": sum(1 for a in tried if (_number(a, "attempt") or 1) > 1),
        "cached": len(attempts) - len(served),
        "by_backend": dict(sorted(Counter(str(a.get("backend")) for a in served).items())),
        "by_outcome": dict(sorted(Counter(str(a.get("outcome")) for a in attempts).items())),
        "calls_per_run": round(sum(per_run.values()) / len(runs), 4) if runs else None,
        "service_seconds": distribution(
            s for a in served if (s := _number(a, "service_seconds")) is not None
        ),
    }


def _digests(events: Iterable[Record]) -> tuple[int, int]:
    """(digests, digests that fell back) over (run, area, language)."""
    seen: set[tuple[str, str, str]] = set()
    fallbacks: set[tuple[str, str, str]] = set()
    for record in of_type(events, "StageFinished"):
        stage, language = record.get("stage"), record.get("language")
        if stage in TOTAL_STAGES or not language:
            continue
        key = (str(record.get("run_id")), str(record.get("area")), str(language))
        seen.add(key)
        if stage in FALLBACK_STAGES or record.get("outcome") == "fallback":
            fallbacks.add(key)
    return len(seen), len(fallbacks)


def _cache_rates(events: Sequence[Record], attempts: dict[str, Any]) -> dict[str, float | None]:
    lookups: defaultdict[str, list[bool]] = defaultdict(list)
    for record in of_type(events, "CacheLookup"):
        lookups[str(record.get("cache"))].append(record.get("hit") is True)
    rates = {cache: _ratio(sum(hits), len(hits)) for cache, hits in sorted(lookups.items())}
    if "reply" not in rates:
        cached = attempts["cached"]
        rates["reply"] = _ratio(cached, cached + attempts["logical_calls"])
    rates.setdefault("area_data", None)
    return rates


def rate_figures(events: Sequence[Record], attempts: dict[str, Any]) -> dict[str, Any]:
    """Failure, timeout, retry, fallback, area-error and cache-hit rates (see module doc)."""
    outcomes: dict[str, int] = attempts["by_outcome"]
    served = attempts["attempts"]
    digests, fallbacks = _digests(events)
    areas = [r for r in of_type(events, "StageFinished") if r.get("stage") == "area_total"]
    return {
        "failure_rate": _ratio(sum(outcomes.get(o, 0) for o in FAILED_ATTEMPTS), served),
        "timeout_rate": _ratio(outcomes.get("timeout", 0), served),
        "retry_rate": _ratio(attempts["retries"], attempts["logical_calls"]),
        "fallback_rate": _ratio(fallbacks, digests),
        "area_error_rate": _ratio(sum(a.get("outcome") == "error" for a in areas), len(areas)),
        "cache_hit_rate": _cache_rates(events, attempts),
        "digests": digests,
        "fallbacks": fallbacks,
    }


def slowest_areas(events: Iterable[Record], limit: int = SLOWEST_AREAS) -> list[dict[str, Any]]:
    """The areas with the longest ``area_total`` stage, slowest first."""
    totals = [
        {
            "area": r.get("area"),
            "run_id": r.get("run_id"),
            "seconds": round(seconds, 4),
            "outcome": r.get("outcome"),
        }
        for r in of_type(events, "StageFinished")
        if r.get("stage") == "area_total" and (seconds := _number(r, "seconds")) is not None
    ]
    return sorted(totals, key=lambda t: -float(t["seconds"] or 0.0))[:limit]


def run_overview(events: Iterable[Record]) -> dict[str, dict[str, Any]]:
    """Per run id: version, channel, backend, area count, status and wall seconds."""
    runs: dict[str, dict[str, Any]] = {}
    for record in events:
        run_id, kind = record.get("run_id"), record.get("type")
        if not run_id or kind not in {"RunStarted", "RunFinished"}:
            continue
        run = runs.setdefault(str(run_id), {"status": "running", "started": None})
        if kind == "RunStarted":
            run.update(
                version=record.get("version"),
                channel=record.get("channel"),
                backend=record.get("backend"),
                areas=len(record.get("areas") or ()),
                started=iso_time(_number(record, "ts")),
            )
        else:
            run.update(status=record.get("status"), wall_seconds=_number(record, "seconds"))
    return runs


def iso_time(ts: float | None) -> str | None:
    """An epoch timestamp as ISO-8601 UTC (seconds precision)."""
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


def summarise(events: Sequence[Record]) -> dict[str, Any]:
    """The summary of a set of events (see the module docstring for definitions)."""
    attempts = attempt_figures(events)
    stamps = [ts for e in events if (ts := _number(e, "ts")) is not None]
    runs = run_overview(events)
    walls = [w for r in runs.values() if isinstance(w := r.get("wall_seconds"), float)]
    return {
        "events": len(events),
        "window": {
            "first": iso_time(min(stamps)) if stamps else None,
            "last": iso_time(max(stamps)) if stamps else None,
        },
        "runs": runs,
        "wall_seconds": round(sum(walls), 4) if walls else None,
        "stages": stage_latencies(events),
        "rates": rate_figures(events, attempts),
        "llm": attempts,
        "slowest_areas": slowest_areas(events),
        "event_types": dict(sorted(Counter(str(e.get("type")) for e in events).items())),
    }


def flatten(summary: dict[str, Any]) -> dict[str, float]:
    """The comparable numbers of a summary as ``dotted.path → value``."""
    flat: dict[str, float] = {}
    wall = summary.get("wall_seconds")
    if isinstance(wall, int | float):
        flat["wall_seconds"] = float(wall)
    _collect(flat, "stages", summary.get("stages", {}))
    _collect(flat, "rates", summary.get("rates", {}))
    llm = {k: v for k, v in summary.get("llm", {}).items() if k != "by_outcome"}
    _collect(flat, "llm", llm)
    return flat


def _collect(flat: dict[str, float], prefix: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _collect(flat, f"{prefix}.{key}", item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        flat[prefix] = float(value)


def compare(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Before/after of every comparable figure: values, delta (after − before) and ratio."""
    old, new = flatten(before), flatten(after)
    changes: dict[str, dict[str, Any]] = {}
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        changes[key] = {
            "before": a,
            "after": b,
            "delta": round(b - a, 4) if a is not None and b is not None else None,
            "ratio": round(b / a, 4) if a and b is not None else None,
        }
    return changes


def check_run_id(value: object) -> str:
    """A run id as given, if it has the shape of one.

    Raises:
        InputError: empty, too long or with characters a run id never has.
    """
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value):
        raise InputError(f"invalid run id {str(value)[:40]!r}")
    return value


def summarise_runs(events: Sequence[Record], runs: Sequence[str] = ()) -> dict[str, Any]:
    """No run ids: everything; one: that run; two: both plus their comparison.

    Raises:
        InputError: more than two run ids, or a malformed one.
    """
    ids = [check_run_id(r) for r in runs]
    if len(ids) > 2:
        raise InputError("give at most two run ids (before and after)")
    if not ids:
        return summarise(events)
    parts = [summarise([e for e in events if e.get("run_id") == r]) for r in ids]
    if len(parts) == 1:
        return {"run_id": ids[0], **parts[0]}
    before, after = parts
    return {
        "before": {"run_id": ids[0], **before},
        "after": {"run_id": ids[1], **after},
        "comparison": compare(before, after),
    }


def parse_since(text: str, now: float) -> float:
    """``30m``/``1h``/``2d``/``1w`` before ``now``, or an ISO-8601 time, as epoch seconds.

    Raises:
        InputError: neither a duration nor an ISO time (naive times are taken as UTC).
    """
    value = text.strip()
    match = _SINCE.fullmatch(value)
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"--since {value[:40]!r}: use a duration like 30m, 1h, 2d or an ISO time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(seconds=1)
