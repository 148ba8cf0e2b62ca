"""Summary maths on a known event set: percentiles, rates, calls per run, slowest, comparison."""

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webplatform_digest.errors import InputError
from webplatform_digest.telemetry.summary import (
    compare,
    parse_since,
    percentile,
    summarise,
    summarise_runs,
)


def _attempt(run: str, area: str, lang: str, attempt: int, outcome: str, service: float = 1.0):
    return {
        "type": "LLMAttempt",
        "run_id": run,
        "area": area,
        "language": lang,
        "attempt": attempt,
        "outcome": outcome,
        "backend": "openai",
        "service_seconds": service,
    }


def _stage(run: str, area: str, stage: str, lang: str, outcome: str, seconds: float):
    return {
        "type": "StageFinished",
        "run_id": run,
        "area": area,
        "stage": stage,
        "language": lang,
        "outcome": outcome,
        "seconds": seconds,
    }


def _lookup(cache: str, hit: bool) -> dict[str, Any]:
    return {"type": "CacheLookup", "run_id": "r1", "cache": cache, "hit": hit}


RUN_1: list[dict[str, Any]] = [
    {
        "type": "RunStarted",
        "run_id": "r1",
        "version": 144,
        "channel": "stable",
        "backend": "openai",
        "areas": ["css", "dom"],
        "languages": ["en", "zh"],
    },
    _attempt("r1", "css", "en", 1, "success", 2.0),
    _attempt("r1", "css", "zh", 1, "timeout", 30.0),
    _attempt("r1", "css", "zh", 2, "success", 4.0),
    _attempt("r1", "dom", "en", 1, "error", 0.5),
    _attempt("r1", "dom", "en", 2, "error", 0.5),
    _attempt("r1", "dom", "zh", 1, "cached", 0.0),
    _stage("r1", "css", "english_generation", "en", "ok", 2.0),
    _stage("r1", "css", "translation", "zh", "retried", 34.0),
    _stage("r1", "dom", "english_generation", "en", "error", 1.0),
    _stage("r1", "dom", "english_fallback", "en", "fallback", 0.0),
    _stage("r1", "dom", "translation", "zh", "cached", 0.0),
    _stage("r1", "css", "area_total", "", "ok", 36.0),
    _stage("r1", "dom", "area_total", "", "fallback", 1.0),
    *[_lookup("reply", False) for _ in range(4)],
    _lookup("reply", True),
    _lookup("area_data", True),
    _lookup("area_data", False),
    {"type": "RunFinished", "run_id": "r1", "status": "completed", "seconds": 40.0},
]
RUN_2: list[dict[str, Any]] = [
    {
        "type": "RunStarted",
        "run_id": "r2",
        "version": 144,
        "channel": "stable",
        "backend": "openai",
        "areas": ["css"],
        "languages": ["en", "zh"],
    },
    _attempt("r2", "css", "en", 1, "success", 1.0),
    _attempt("r2", "css", "zh", 1, "success", 2.0),
    _stage("r2", "css", "english_generation", "en", "ok", 1.0),
    _stage("r2", "css", "translation", "zh", "ok", 2.0),
    _stage("r2", "css", "area_total", "", "ok", 3.0),
    {"type": "RunFinished", "run_id": "r2", "status": "completed", "seconds": 10.0},
]


def _stamped(events: list[dict[str, Any]], start: float) -> list[dict[str, Any]]:
    return [{"ts": start + i, "seq": i + 1, **e} for i, e in enumerate(events)]


EVENTS = _stamped(RUN_1, 1_700_000_000.0) + _stamped(RUN_2, 1_700_000_100.0)


def test_percentiles_interpolate_between_closest_ranks() -> None:
    """p50 of 1..4 is 2.5; p95 is 3.85; one value is every percentile; none gives 0."""
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0


def test_rates_of_a_known_run() -> None:
    """Failure, timeout, retry, fallback, area-error and cache-hit rates by their definitions."""
    rates = summarise(_stamped(RUN_1, 0.0))["rates"]
    assert rates["failure_rate"] == 0.6  # timeout + 2 errors of 5 served attempts
    assert rates["timeout_rate"] == 0.2
    assert rates["retry_rate"] == pytest.approx(0.6667)  # 2 retries over 3 logical calls
    assert rates["fallback_rate"] == 0.25  # dom/en of 4 digests
    assert (rates["digests"], rates["fallbacks"]) == (4, 1)
    assert rates["area_error_rate"] == 0.0
    assert rates["cache_hit_rate"] == {"area_data": 0.5, "reply": 0.2}


def test_llm_figures_count_served_attempts_per_run() -> None:
    """Cached answers are not LLM calls; calls per run averages over the runs seen."""
    llm = summarise(EVENTS)["llm"]
    assert (llm["attempts"], llm["cached"], llm["logical_calls"], llm["retries"]) == (7, 1, 5, 2)
    assert llm["calls_per_run"] == 3.5
    assert llm["by_outcome"] == {"cached": 1, "error": 2, "success": 4, "timeout": 1}
    assert llm["service_seconds"]["max"] == 30.0


def test_a_refused_attempt_is_neither_a_logical_call_nor_a_retry() -> None:
    """Refused at attempt 1, then served at attempt 1: one logical call, no retry, one failure."""
    events = _stamped(
        [
            _attempt("r3", "css", "en", 1, "rejected_open", 0.0),
            _attempt("r3", "css", "en", 1, "rate_limited", 0.1),
            _attempt("r3", "css", "en", 2, "success", 1.0),
        ],
        0.0,
    )
    summary = summarise(events)
    llm = summary["llm"]
    assert (llm["attempts"], llm["logical_calls"], llm["retries"]) == (3, 1, 1)
    assert summary["rates"]["failure_rate"] == pytest.approx(0.6667)


def test_stage_percentiles_per_stage_and_language() -> None:
    """English generation over both runs: durations 2, 1, 1 → p50 1, p95 1.9, max 2."""
    stages = summarise(EVENTS)["stages"]
    english = stages["english_generation"]["en"]
    assert english["count"] == 3
    assert (english["p50"], english["p95"], english["max"]) == (1.0, 1.9, 2.0)
    assert set(stages["area_total"]) == {"all"}
    assert stages["english_fallback"]["en"]["count"] == 1


def test_slowest_areas_and_run_overview() -> None:
    """Areas ordered by area_total duration; runs with status and wall time."""
    summary = summarise(EVENTS)
    assert [(a["area"], a["run_id"], a["seconds"]) for a in summary["slowest_areas"]] == [
        ("css", "r1", 36.0),
        ("css", "r2", 3.0),
        ("dom", "r1", 1.0),
    ]
    assert summary["runs"]["r1"]["status"] == "completed"
    assert summary["runs"]["r1"]["areas"] == 2
    assert summary["runs"]["r2"]["wall_seconds"] == 10.0
    assert summary["wall_seconds"] == 50.0
    assert summary["window"] == {"first": "2023-11-14T22:13:20Z", "last": "2023-11-14T22:15:06Z"}


def test_reply_cache_rate_falls_back_to_cached_attempts_without_lookup_events() -> None:
    """Without CacheLookup events: cached attempts / (cached + logical calls)."""
    events = [e for e in EVENTS if e["type"] != "CacheLookup"]
    assert summarise(events)["rates"]["cache_hit_rate"] == {"area_data": None, "reply": 0.1667}


def test_rates_are_none_without_data() -> None:
    """No events: every rate is None, counts are zero, nothing divides by zero."""
    summary = summarise([])
    assert summary["rates"]["failure_rate"] is None
    assert summary["rates"]["fallback_rate"] is None
    assert summary["llm"]["calls_per_run"] is None
    assert summary["events"] == 0


def test_comparing_two_runs_gives_deltas_and_ratios() -> None:
    """Before r1, after r2: wall time 40 → 10 (ratio 0.25), LLM attempts 5 → 2."""
    result = summarise_runs(EVENTS, ["r1", "r2"])
    assert (result["before"]["run_id"], result["after"]["run_id"]) == ("r1", "r2")
    changes = result["comparison"]
    assert changes["wall_seconds"] == {"before": 40.0, "after": 10.0, "delta": -30.0, "ratio": 0.25}
    assert changes["llm.attempts"]["ratio"] == 0.4
    assert changes["stages.english_generation.en.p50"]["delta"] == -0.5
    assert changes["rates.fallback_rate"]["after"] == 0.0
    assert changes["stages.english_fallback.en.count"]["after"] is None


def test_compare_never_divides_by_zero() -> None:
    """A figure that was 0 before has no ratio, only a delta."""
    changes = compare({"llm": {"attempts": 0}}, {"llm": {"attempts": 3}})
    assert changes["llm.attempts"] == {"before": 0.0, "after": 3.0, "delta": 3.0, "ratio": None}


def test_one_run_is_summarised_alone() -> None:
    """With one run id only that run's events count."""
    result = summarise_runs(EVENTS, ["r2"])
    assert result["run_id"] == "r2"
    assert result["llm"]["attempts"] == 2


def test_run_selection_is_validated() -> None:
    """More than two run ids, or one that is not shaped like a run id, is an input error."""
    with pytest.raises(InputError, match="at most two"):
        summarise_runs(EVENTS, ["a", "b", "c"])
    with pytest.raises(InputError, match="invalid run id"):
        summarise_runs(EVENTS, ["../../etc/passwd"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", 9910.0),
        ("30m", 8200.0),
        ("1h", 6400.0),
        ("2d", 10000.0 - 172800),
        ("1w", 10000.0 - 604800),
        ("2026-01-01T00:00:00Z", 1767225600.0),
        ("2026-01-01T00:00:00", 1767225600.0),
        ("2026-01-01T02:00:00+02:00", 1767225600.0),
    ],
)
def test_since_accepts_durations_and_iso_times(text: str, expected: float) -> None:
    """Durations count back from now; ISO times without a zone are UTC."""
    assert parse_since(text, 10000.0) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "1y", "-1h", "1e9s", "2026-13-01"])
def test_since_rejects_anything_else(text: str) -> None:
    """Unreadable windows are input errors that show the accepted forms."""
    with pytest.raises(InputError, match="30m, 1h, 2d"):
        parse_since(text, 10000.0)


_area_totals = st.lists(
    st.tuples(
        st.sampled_from(["css", "dom", "html", "webgpu"]),
        st.sampled_from(["r1", "r2", "r3"]),
        st.sampled_from([0.5, 1.0, 1.00001, 2.0, 36.0]),
    ),
    max_size=40,
)


@given(_area_totals)
def test_the_slowest_areas_are_the_top_five_of_all_area_totals_first_arrival_first(
    totals: list[tuple[str, str, float]],
) -> None:
    """Streaming keeps five entries only, yet ranks exactly as sorting every area total would."""
    events = [_stage(run, area, "area_total", "", "ok", seconds) for area, run, seconds in totals]
    everything = [
        {"area": a, "run_id": r, "seconds": round(s, 4)}
        for a, r, s in sorted(totals, key=lambda total: -round(total[2], 4))
    ]
    slowest = [
        {k: e[k] for k in ("area", "run_id", "seconds")} for e in summarise(events)["slowest_areas"]
    ]
    assert slowest == everything[:5]


@given(st.lists(st.sampled_from(EVENTS), max_size=60))
def test_a_run_summarised_from_the_whole_stream_equals_its_events_summarised_alone(
    events: list[dict[str, Any]],
) -> None:
    """Feeding one pass to per-run summaries routes each record to its run, and only there."""
    alone = summarise([e for e in events if e.get("run_id") == "r2"])
    assert summarise_runs(events, ["r2"]) == {"run_id": "r2", **alone}


def test_digests_and_fallbacks_count_distinct_run_area_language_triples() -> None:
    """A digest reported twice (retry, resume) counts once; the same area in two runs twice."""
    events = [
        _stage("r1", "css", "english_generation", "en", "ok", 1.0),
        _stage("r1", "css", "english_generation", "en", "ok", 1.0),
        _stage("r1", "css", "english_fallback", "en", "fallback", 0.0),
        _stage("r2", "css", "english_generation", "en", "ok", 1.0),
        _stage("r2", "css", "translation", "zh", "ok", 1.0),
    ]
    rates = summarise(events)["rates"]
    assert (rates["digests"], rates["fallbacks"], rates["fallback_rate"]) == (3, 1, 0.3333)
