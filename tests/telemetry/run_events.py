"""A realistic, deterministic stream of telemetry events for one digest run (tests, benchmark).

Per area and language: cache lookups, slot and token waits, one LLM attempt (every 5th area
times out once and is retried; every 7th area errors twice and falls back), the stage result,
progress, and the digest write; then the area total. Breaker, write-queue, tool and fetch
events are sprinkled in so every metric family sees traffic.
"""

from typing import Any

from webplatform_digest.events import (
    BreakerTransition,
    CacheLookup,
    ConcurrencyChanged,
    Event,
    FetchFinished,
    FileWritten,
    LLMAttempt,
    RateLimitWait,
    RetryScheduled,
    RunFinished,
    RunProgress,
    RunStarted,
    StageFinished,
    ToolCalled,
    WriteQueueDepth,
)

STAGE = {"en": "english_generation", "zh": "translation"}
RETRY_STAGE = {"en": "english_retry", "zh": "translation_retry"}
FALLBACK_STAGE = {"en": "english_fallback", "zh": "translation_fallback"}


def _attempts(run_id: str, backend: str, area: str, lang: str, index: int) -> list[Event]:
    """The LLM attempts of one (area, language) digest and its stage results."""
    base: dict[str, Any] = {"run_id": run_id, "backend": backend, "stage": STAGE[lang]}
    base |= {"language": lang, "area": area}
    service = 1.5 + (index % 10) * 0.5 + (1.0 if lang == "zh" else 0.0)
    if index % 7 == 3:
        failed: list[Event] = [
            LLMAttempt(**base, attempt=1, outcome="error", service_seconds=0.4, error_class="5xx"),
            RetryScheduled(
                run_id=run_id,
                backend=backend,
                stage=STAGE[lang],
                attempt=1,
                delay_seconds=0.5,
                reason="BackendError",
            ),
            LLMAttempt(**base, attempt=2, outcome="error", service_seconds=0.4, error_class="5xx"),
            StageFinished(
                run_id=run_id,
                area=area,
                stage=STAGE[lang],
                language=lang,
                outcome="error",
                seconds=1.3,
            ),
            StageFinished(
                run_id=run_id,
                area=area,
                stage=FALLBACK_STAGE[lang],
                language=lang,
                outcome="fallback",
                seconds=0.01,
            ),
        ]
        return failed
    events: list[Event] = []
    if index % 5 == 1:
        events += [
            LLMAttempt(**base, attempt=1, outcome="timeout", service_seconds=120.0),
            RetryScheduled(
                run_id=run_id,
                backend=backend,
                stage=STAGE[lang],
                attempt=1,
                delay_seconds=1.0,
                reason="LLMTimeoutError",
            ),
        ]
    attempt = 2 if index % 5 == 1 else 1
    events += [
        LLMAttempt(
            **base, attempt=attempt, outcome="success", wait_seconds=0.02, service_seconds=service
        ),
        StageFinished(
            run_id=run_id,
            area=area,
            stage=STAGE[lang],
            language=lang,
            outcome="retried" if attempt > 1 else "ok",
            seconds=service + (121.0 if attempt > 1 else 0.0),
        ),
    ]
    return events


def area_events(run_id: str, backend: str, area: str, index: int) -> list[Event]:
    """Every event of one area (both languages)."""
    events: list[Event] = [CacheLookup(run_id=run_id, cache="area_data", hit=index % 2 == 0)]
    for lang in ("en", "zh"):
        events += [
            CacheLookup(run_id=run_id, cache="reply", hit=False, layer="miss"),
            ConcurrencyChanged(in_flight=1 + index % 4, limit=4),
            RateLimitWait(run_id=run_id, backend=backend, seconds=0.25),
            *_attempts(run_id, backend, area, lang, index),
            ConcurrencyChanged(in_flight=index % 4, limit=4),
            WriteQueueDepth(depth=1 + index % 3),
            FileWritten(
                run_id=run_id, outcome="written", bytes=4096, kind="digest", wait_seconds=0.002
            ),
            RunProgress(
                run_id=run_id,
                completed=2 * index + (1 if lang == "en" else 2),
                total=0,
                message=f"{area} {lang} done",
            ),
        ]
    outcome = "fallback" if index % 7 == 3 else "ok"
    total = 6.0 + (index % 10)
    events.append(
        StageFinished(
            run_id=run_id,
            area=area,
            stage="area_total",
            language="",
            outcome=outcome,
            seconds=total,
        )
    )
    return events


def simulated_run_events(
    run_id: str,
    areas: tuple[str, ...],
    *,
    backend: str = "openai",
    version: int = 144,
) -> list[Event]:
    """All events of one digest run over ``areas`` (EN + ZH), in emission order."""
    events: list[Event] = [
        ToolCalled(tool="list_focus_areas", outcome="ok", seconds=0.003),
        FetchFinished(kind="stable", outcome="ok", seconds=0.8, status=200),
        RunStarted(
            run_id=run_id,
            version=version,
            channel="stable",
            areas=areas,
            languages=("en", "zh"),
            backend=backend,
        ),
    ]
    for index, area in enumerate(areas):
        events += area_events(run_id, backend, area, index)
        if index == 3:
            events += [
                BreakerTransition(backend=backend, from_state="closed", to_state="open"),
                BreakerTransition(backend=backend, from_state="open", to_state="half_open"),
                BreakerTransition(backend=backend, from_state="half_open", to_state="closed"),
            ]
    events += [
        FileWritten(run_id=run_id, outcome="unchanged", kind="page"),
        FileWritten(run_id=run_id, outcome="coalesced", kind="page"),
        RunFinished(run_id=run_id, status="completed", seconds=60.0 + len(areas)),
        ToolCalled(tool="webplatform_digest", outcome="ok", seconds=61.0),
    ]
    return _with_total(events, 2 * len(areas))


def _with_total(events: list[Event], total: int) -> list[Event]:
    """Fill in RunProgress.total once the digest count is known."""
    return [
        RunProgress(run_id=e.run_id, completed=e.completed, total=total, message=e.message)
        if isinstance(e, RunProgress)
        else e
        for e in events
    ]
