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

import heapq
import math
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
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


def _number(record: Record, key: str) -> float | None:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def iso_time(ts: float | None) -> str | None:
    """An epoch timestamp as ISO-8601 UTC (seconds precision)."""
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, UTC).replace(microsecond=0)
    return moment.isoformat().replace("+00:00", "Z")


class _Attempts:
    """Running LLM-attempt figures (``LLMAttempt`` records)."""

    def __init__(self) -> None:
        self.total = 0
        self.served = 0
        self.logical = 0
        self.retries = 0
        self.by_backend: Counter[str] = Counter()
        self.by_outcome: Counter[str] = Counter()
        self.per_run: Counter[str] = Counter()
        self.service = array("d")

    def add(self, record: Record) -> None:
        self.total += 1
        self.by_outcome[str(record.get("outcome"))] += 1
        if record.get("outcome") == "cached":
            return
        self.served += 1
        if record.get("outcome") != "rejected_open":  # a refusal spends no attempt
            self.logical += record.get("attempt") == 1
            self.retries += (_number(record, "attempt") or 1) > 1
        self.by_backend[str(record.get("backend"))] += 1
        if record.get("run_id"):
            self.per_run[str(record.get("run_id"))] += 1
        if (seconds := _number(record, "service_seconds")) is not None:
            self.service.append(seconds)

    def figures(self, started_runs: set[str]) -> dict[str, Any]:
        runs = started_runs | set(self.per_run)
        return {
            "attempts": self.served,
            "logical_calls": self.logical,
            "retries": self.retries,
            "cached": self.total - self.served,
            "by_backend": dict(sorted(self.by_backend.items())),
            "by_outcome": dict(sorted(self.by_outcome.items())),
            "calls_per_run": round(self.per_run.total() / len(runs), 4) if runs else None,
            "service_seconds": distribution(self.service),
        }


class _Stages:
    """Running ``StageFinished`` figures: durations, digests, fallbacks, area totals."""

    def __init__(self, slowest: int) -> None:
        self.durations: defaultdict[tuple[str, str], array[float]] = defaultdict(lambda: array("d"))
        # (run, area, language) keys as a bit per (area, language) in one int per run: a big
        # log holds tens of thousands of digests, and a set of tuples would cost megabytes
        self._pairs: dict[tuple[str, str], int] = {}
        self._digests: defaultdict[str, int] = defaultdict(int)
        self._fallbacks: defaultdict[str, int] = defaultdict(int)
        self.areas = 0
        self.area_errors = 0
        # min-heap of the slowest area totals: (seconds, -arrival) keeps the first of equals
        self._slowest: list[tuple[float, int]] = []
        self._entries: dict[int, dict[str, Any]] = {}
        self._limit = slowest
        self._arrivals = 0

    def add(self, record: Record) -> None:
        stage, language = record.get("stage"), record.get("language")
        seconds = _number(record, "seconds")
        if seconds is not None:
            self.durations[(str(stage), str(language or "all"))].append(seconds)
        if stage == "area_total":
            self._add_area_total(record, seconds)
        if stage in TOTAL_STAGES or not language:
            return
        pair = self._pairs.setdefault((str(record.get("area")), str(language)), len(self._pairs))
        run = str(record.get("run_id"))
        self._digests[run] |= 1 << pair
        if stage in FALLBACK_STAGES or record.get("outcome") == "fallback":
            self._fallbacks[run] |= 1 << pair

    @property
    def digests(self) -> int:
        """Distinct (run, area, language) digests seen."""
        return sum(bits.bit_count() for bits in self._digests.values())

    @property
    def fallbacks(self) -> int:
        """Distinct digests that used the deterministic fallback."""
        return sum(bits.bit_count() for bits in self._fallbacks.values())

    def _add_area_total(self, record: Record, seconds: float | None) -> None:
        self.areas += 1
        self.area_errors += record.get("outcome") == "error"
        if seconds is None:
            return
        entry = {
            "area": record.get("area"),
            "run_id": record.get("run_id"),
            "seconds": round(seconds, 4),
            "outcome": record.get("outcome"),
        }
        self._arrivals += 1
        if not self._limit:
            return
        self._entries[self._arrivals] = entry
        item = (round(seconds, 4), -self._arrivals)
        if len(self._slowest) < self._limit:
            heapq.heappush(self._slowest, item)
        else:
            self._entries.pop(-heapq.heappushpop(self._slowest, item)[1])

    def latencies(self) -> dict[str, dict[str, dict[str, float | int]]]:
        result: dict[str, dict[str, dict[str, float | int]]] = {}
        for (stage, language), values in sorted(self.durations.items()):
            result.setdefault(stage, {})[language] = distribution(values)
        return result

    def slowest(self) -> list[dict[str, Any]]:
        ranked = sorted(self._slowest, key=lambda item: (-item[0], -item[1]))
        return [self._entries[-arrival] for _, arrival in ranked]


class Summary:
    """A summary built one record at a time, so a log of any size is read in constant memory.

    Only what the figures need is kept: durations as packed floats, run and digest keys, and
    the few slowest area totals.
    """

    def __init__(self, slowest: int = SLOWEST_AREAS) -> None:
        self.events = 0
        self._first: float | None = None
        self._last: float | None = None
        self._types: Counter[str] = Counter()
        self._attempts = _Attempts()
        self._stages = _Stages(slowest)
        self._lookups: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
        self._runs: dict[str, dict[str, Any]] = {}
        self._started: set[str] = set()

    def add(self, record: Record) -> None:
        """Count one event record."""
        self.events += 1
        self._types[str(record.get("type"))] += 1
        if (ts := _number(record, "ts")) is not None:
            self._first = ts if self._first is None else min(self._first, ts)
            self._last = ts if self._last is None else max(self._last, ts)
        kind = record.get("type")
        if kind == "LLMAttempt":
            self._attempts.add(record)
        elif kind == "StageFinished":
            self._stages.add(record)
        elif kind == "CacheLookup":
            counts = self._lookups[str(record.get("cache"))]
            counts[0] += record.get("hit") is True
            counts[1] += 1
        elif kind in {"RunStarted", "RunFinished"} and record.get("run_id"):
            self._add_run(str(record.get("run_id")), record)

    def _add_run(self, run_id: str, record: Record) -> None:
        run = self._runs.setdefault(run_id, {"status": "running", "started": None})
        if record.get("type") == "RunStarted":
            self._started.add(run_id)
            run.update(
                version=record.get("version"),
                channel=record.get("channel"),
                backend=record.get("backend"),
                areas=len(record.get("areas") or ()),
                started=iso_time(_number(record, "ts")),
            )
        else:
            run.update(status=record.get("status"), wall_seconds=_number(record, "seconds"))

    def result(self) -> dict[str, Any]:
        """The summary document (see the module docstring for definitions)."""
        attempts = self._attempts.figures(self._started)
        walls = [w for r in self._runs.values() if isinstance(w := r.get("wall_seconds"), float)]
        return {
            "events": self.events,
            "window": {"first": iso_time(self._first), "last": iso_time(self._last)},
            "runs": self._runs,
            "wall_seconds": round(sum(walls), 4) if walls else None,
            "stages": self._stages.latencies(),
            "rates": self._rates(attempts),
            "llm": attempts,
            "slowest_areas": self._stages.slowest(),
            "event_types": dict(sorted(self._types.items())),
        }

    def _rates(self, attempts: dict[str, Any]) -> dict[str, Any]:
        outcomes: dict[str, int] = attempts["by_outcome"]
        served = attempts["attempts"]
        stages = self._stages
        return {
            "failure_rate": _ratio(sum(outcomes.get(o, 0) for o in FAILED_ATTEMPTS), served),
            "timeout_rate": _ratio(outcomes.get("timeout", 0), served),
            "retry_rate": _ratio(attempts["retries"], attempts["logical_calls"]),
            "fallback_rate": _ratio(stages.fallbacks, stages.digests),
            "area_error_rate": _ratio(stages.area_errors, stages.areas),
            "cache_hit_rate": self._cache_rates(attempts),
            "digests": stages.digests,
            "fallbacks": stages.fallbacks,
        }

    def _cache_rates(self, attempts: dict[str, Any]) -> dict[str, float | None]:
        rates = {cache: _ratio(hits, n) for cache, (hits, n) in sorted(self._lookups.items())}
        if "reply" not in rates:
            cached = attempts["cached"]
            rates["reply"] = _ratio(cached, cached + attempts["logical_calls"])
        rates.setdefault("area_data", None)
        return rates


def summarise(events: Iterable[Record]) -> dict[str, Any]:
    """The summary of a set of events (see the module docstring for definitions)."""
    summary = Summary()
    for record in events:
        summary.add(record)
    return summary.result()


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


def run_summaries(runs: Sequence[str] = ()) -> dict[str | None, Summary]:
    """Empty summaries to feed: one for everything (key None), or one per run id.

    Raises:
        InputError: more than two run ids, or a malformed one.
    """
    ids = [check_run_id(r) for r in runs]
    if len(ids) > 2:
        raise InputError("give at most two run ids (before and after)")
    if not ids:
        return {None: Summary()}
    return {run_id: Summary() for run_id in ids}


def feed(summaries: Mapping[str | None, Summary], record: Record) -> None:
    """Count ``record`` in the summary it belongs to (all, or its run's)."""
    target = summaries.get(None) or summaries.get(record.get("run_id"))
    if target is not None:
        target.add(record)


def combine(summaries: Mapping[str | None, Summary]) -> dict[str, Any]:
    """The document of ``run_summaries``: everything, one run, or two runs compared."""
    if None in summaries:
        return summaries[None].result()
    parts = [(run_id, s.result()) for run_id, s in summaries.items()]
    if len(parts) == 1:
        run_id, part = parts[0]
        return {"run_id": run_id, **part}
    (first, before), (second, after) = parts
    return {
        "before": {"run_id": first, **before},
        "after": {"run_id": second, **after},
        "comparison": compare(before, after),
    }


def summarise_runs(events: Iterable[Record], runs: Sequence[str] = ()) -> dict[str, Any]:
    """No run ids: everything; one: that run; two: both plus their comparison.

    Raises:
        InputError: more than two run ids, or a malformed one.
    """
    summaries = run_summaries(runs)
    for record in events:
        feed(summaries, record)
    return combine(summaries)


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
