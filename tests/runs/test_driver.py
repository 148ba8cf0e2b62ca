"""Both run drivers against real files, a real registry and scripted backends."""

import asyncio
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import anyio
import pytest

from tests.digest_samples import (
    DirectGovernor,
    good_answer,
    plan,
    sample_subjects,
    subject,
    valid_english,
)
from tests.fakes import ScriptedBackend
from webplatform_digest.digest.files import parse_digest_file
from webplatform_digest.digest.machine import DigestRun, Failure, Progress
from webplatform_digest.digest.prompts import Subject
from webplatform_digest.errors import BackendError, RunStateError
from webplatform_digest.events import (
    RecordingHook,
    RunFinished,
    StageFinished,
    Telemetry,
)
from webplatform_digest.llm.cache import ReplyCache
from webplatform_digest.llm.governor import Governor
from webplatform_digest.llm.limits import GovernorConfig
from webplatform_digest.llm.port import Backend, LLMReply, LLMRequest
from webplatform_digest.models import Language
from webplatform_digest.runs import driver as run_driver
from webplatform_digest.runs.driver import (
    GovernedCaller,
    RunLimits,
    progress_report,
    resume_digest,
    run_digest,
)
from webplatform_digest.runs.registry import RunStatus
from webplatform_digest.runs.session import ProgressSink, RunServices
from webplatform_digest.runs.summary import RunSummary
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import BatchResult, DirectWriter

LIMITS = RunLimits(max_concurrency=4, run_deadline=600.0)


def _file(workspace: Workspace, area: str, language: str) -> Path:
    return workspace.root / "digest_markdown" / "areas" / area / f"chrome-144-{language}.md"


def _scripted(answer: Callable[[LLMRequest], LLMReply | Exception]) -> ScriptedBackend:
    return ScriptedBackend(script=answer)


async def _run(
    services: RunServices,
    backend: Backend,
    governor: GovernedCaller | None = None,
    limits: RunLimits = LIMITS,
    *,
    subjects: tuple[Subject, ...] | None = None,
    run_id: str = "run-a",
    use_cache: bool = True,
    on_progress: ProgressSink | None = None,
) -> RunSummary:
    return await run_digest(
        services,
        plan(subjects or sample_subjects(), run_id=run_id),
        backend,
        governor or DirectGovernor(),
        limits=limits,
        use_cache=use_cache,
        on_progress=on_progress,
    )


async def test_valid_replies_write_both_languages_and_complete_the_run(
    services: RunServices, workspace: Workspace, recorder: RecordingHook
) -> None:
    """Every area gets en + zh files with front matter; the registry says completed."""
    subjects = sample_subjects()
    seen: list[tuple[int, int]] = []

    async def on_progress(progress: Progress) -> None:
        seen.append((progress.completed, progress.total))

    summary = await _run(services, _scripted(good_answer(subjects)), on_progress=on_progress)
    assert summary.to_json()["areas"] == {
        "css": {"en": "ok", "zh": "ok"},
        "javascript": {"en": "ok", "zh": "ok"},
        "graphics-webgpu": {"en": "empty", "zh": "empty"},
    }
    assert (summary.llm_calls, summary.cache_hits, summary.fallbacks) == (4, 0, 0)
    assert len(summary.written) == 6
    css_zh = parse_digest_file(_file(workspace, "css", "zh").read_bytes())
    assert css_zh.language is Language.ZH
    assert css_zh.title == "CSS 与 UI — Chrome 144"
    assert css_zh.backend == "scripted"
    assert seen[-1] == (6, 6)
    record = services.registry.get("run-a")
    assert record.status is RunStatus.COMPLETED
    assert record.results["css"]["en"] == {"status": "ok", "reason": ""}
    kinds = [e.kind for e in services.registry.events_after("run-a", 0, 1000)]
    assert kinds[0] == "RunStarted"
    assert kinds[-1] == "RunFinished"
    stages = {(e.stage, e.outcome) for e in recorder.of(StageFinished)}
    assert ("translation", "ok") in stages
    assert ("run_total", "ok") in stages


async def test_invalid_digests_are_retried_once_then_fall_back(
    services: RunServices, workspace: Workspace
) -> None:
    """An LLM that never follows the format ends in labelled fallbacks, not in an error."""
    backend = _scripted(lambda r: LLMReply(text="No headings at all."))
    summary = await _run(services, backend)
    assert summary.areas["css"] == {"en": "fallback", "zh": "fallback"}
    assert summary.fallbacks == 4
    assert len(backend.calls) == 8
    assert [c.meta.stage for c in backend.calls].count("english_retry") == 2
    digest = parse_digest_file(_file(workspace, "css", "en").read_bytes())
    assert digest.status.value == "fallback"
    assert digest.backend == "deterministic"
    assert "still invalid after a corrective retry" in digest.reason


async def test_a_failing_backend_gives_fallbacks_and_a_completed_run(
    services: RunServices,
) -> None:
    """Backend errors surface as fallbacks with the reason; the run itself completes."""
    backend = _scripted(lambda r: BackendError("HTTP 503", status=503))
    summary = await _run(services, backend)
    assert summary.status == "completed"
    assert summary.areas["javascript"] == {"en": "fallback", "zh": "fallback"}
    reason = services.registry.get("run-a").results["javascript"]["en"]["reason"]
    assert reason == "LLM call failed: BackendError: HTTP 503"


async def test_no_more_than_max_concurrency_calls_are_in_flight(services: RunServices) -> None:
    """Six areas, C = 4: the backend sees four calls at once, never five."""
    subjects = tuple(subject(f"a{i}", ["One"]) for i in range(6))
    answer = good_answer(subjects)
    state = {"now": 0, "peak": 0}

    def counting(request: LLMRequest) -> LLMReply:
        return answer(request)

    class Counting(ScriptedBackend):
        async def complete(self, request: LLMRequest) -> LLMReply:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
            try:
                for _ in range(3):
                    await anyio.lowlevel.checkpoint()
                return await super().complete(request)
            finally:
                state["now"] -= 1

    write = await _run(services, Counting(script=counting), subjects=subjects, run_id="run-c")
    assert write.status == "completed"
    assert state["peak"] == 4


@dataclass
class LoggingBackend(ScriptedBackend):
    """A scripted backend that logs ``call <area> <language>`` in ``log`` as each call starts."""

    log: list[str] = field(default_factory=list[str])

    async def complete(self, request: LLMRequest) -> LLMReply:
        self.log.append(f"call {request.meta.area} {request.meta.language}")
        return await super().complete(request)


async def test_the_next_request_goes_out_before_the_bookkeeping_of_the_reply_that_freed_its_slot(
    services: RunServices,
) -> None:
    """C = 1: the second call starts before the progress report of the first reply, so the
    run's bookkeeping overlaps the LLM's next answer instead of lengthening every round."""
    subjects = sample_subjects()
    log: list[str] = []

    async def on_progress(progress: Progress) -> None:
        log.append(f"progress {progress.completed}")

    limits = RunLimits(max_concurrency=1, run_deadline=600.0)
    backend = LoggingBackend(script=good_answer(subjects), log=log)
    summary = await _run(services, backend, limits=limits, on_progress=on_progress)
    assert summary.status == "completed"
    # the empty area counts 2 from the start; each later report follows the next call
    assert log == [
        "progress 2",
        "call css en",
        "call javascript en",
        "progress 3",
        "call css zh",
        "progress 4",
        "call javascript zh",
        "progress 5",
        "progress 6",
    ]


async def test_a_freed_slot_goes_to_a_ready_request_before_the_reply_is_checked(
    services: RunServices,
) -> None:
    """C = 1 and a first English reply that fails its check: the slot it frees goes to the next
    area's English, which was ready before the check; the corrective retry waits its turn."""
    subjects = sample_subjects()
    good = good_answer(subjects)
    asked: list[str] = []

    def answer(request: LLMRequest) -> LLMReply:
        asked.append(f"{request.meta.area} {request.meta.language}")
        return _nope() if len(asked) == 1 else good(request)

    limits = RunLimits(max_concurrency=1, run_deadline=600.0)
    summary = await _run(services, _scripted(answer), limits=limits)
    assert summary.areas["css"] == {"en": "retried", "zh": "ok"}
    assert asked[:3] == ["css en", "javascript en", "css en"]


async def test_a_freed_slots_new_call_starts_before_the_reply_that_freed_it_is_checked(
    services: RunServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """C = 1: javascript's English call has started when css's English reply is checked, so
    the request is on its way while the check runs instead of after it."""
    subjects = sample_subjects()
    log: list[str] = []

    feed = DigestRun.feed

    def logged_feed(run: DigestRun, request_id: str, result: LLMReply | Failure) -> object:
        log.append(f"check {request_id}")
        return feed(run, request_id, result)

    monkeypatch.setattr(DigestRun, "feed", logged_feed)
    limits = RunLimits(max_concurrency=1, run_deadline=600.0)
    summary = await _run(
        services, LoggingBackend(script=good_answer(subjects), log=log), limits=limits
    )
    assert summary.status == "completed"
    assert log[:3] == ["call css en", "call javascript en", "check css.en.1"]


async def test_an_areas_translation_starts_while_other_english_is_still_running(
    services: RunServices,
) -> None:
    """javascript's English waits for css's Chinese request: only works without a barrier."""
    subjects = sample_subjects()
    answer = good_answer(subjects)
    css_zh_arrived = anyio.Event()

    class Ordered(ScriptedBackend):
        async def complete(self, request: LLMRequest) -> LLMReply:
            if (request.meta.area, request.meta.language) == ("css", "zh"):
                css_zh_arrived.set()
            if (request.meta.area, request.meta.language) == ("javascript", "en"):
                await css_zh_arrived.wait()
            return answer(request)

    with anyio.fail_after(10):
        summary = await _run(services, Ordered())
    assert summary.areas["javascript"] == {"en": "ok", "zh": "ok"}


class NotifyingWriter(DirectWriter):
    """Writes like DirectWriter and sets an event per area once its files are on disk."""

    def __init__(self, workspace: Workspace) -> None:
        super().__init__(workspace)
        self.wrote: defaultdict[str, anyio.Event] = defaultdict(anyio.Event)

    async def write_batch(
        self,
        files: Mapping[PurePosixPath, bytes],
        *,
        kind: str = "other",
        remove: tuple[PurePosixPath, ...] = (),
    ) -> BatchResult:
        result = await super().write_batch(files, kind=kind, remove=remove)
        for rel in files:
            self.wrote[rel.parts[2]].set()
        return result


class Blocking(ScriptedBackend):
    """Answers css at once and blocks every other request until cancelled."""

    def __init__(self, subjects: tuple[Subject, ...], blocked: int) -> None:
        super().__init__()
        self.answer = good_answer(subjects)
        self.blocked_now = 0
        self.cancelled = 0
        self.all_blocked = anyio.Event()
        self.expected = blocked

    async def complete(self, request: LLMRequest) -> LLMReply:
        if request.meta.area == "css":
            return self.answer(request)
        self.blocked_now += 1
        if self.blocked_now == self.expected:
            self.all_blocked.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        finally:
            self.blocked_now -= 1
        raise AssertionError("unreachable")


async def test_cancelling_a_run_leaves_no_tasks_and_a_cancelled_registry_entry(
    services: RunServices, workspace: Workspace
) -> None:
    """Cancel mid-run: blocked calls are cancelled, finished areas stay written, status says so."""
    subjects = (*sample_subjects(), subject("security-privacy", ["Isolation"]))
    backend = Blocking(subjects, blocked=2)
    writer = NotifyingWriter(workspace)
    services = replace(services, writer=writer)
    before = {t for t in asyncio.all_tasks() if not t.done()}
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: _run(services, backend, subjects=subjects, run_id="run-x"))
        with anyio.fail_after(10):
            await backend.all_blocked.wait()
            await writer.wrote["css"].wait()
        group.cancel_scope.cancel()
    assert backend.cancelled == 2
    assert backend.blocked_now == 0
    assert {t for t in asyncio.all_tasks() if not t.done()} == before
    record = services.registry.get("run-x")
    assert record.status is RunStatus.CANCELLED
    assert record.finished_at is not None
    assert record.results["css"]["zh"]["status"] == "ok"
    assert record.results["javascript"]["en"]["status"] == "pending"
    assert not _file(workspace, "javascript", "en").exists()


async def test_a_run_cancelled_while_the_process_stops_is_interrupted_and_resumable(
    services: RunServices, workspace: Workspace
) -> None:
    """A shutdown (not the client) cut the run short: interrupted, and resume finishes it."""
    subjects = (*sample_subjects(), subject("security-privacy", ["Isolation"]))
    backend = Blocking(subjects, blocked=2)
    services = replace(services, stopping=lambda: True)
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: _run(services, backend, subjects=subjects, run_id="run-s"))
        with anyio.fail_after(10):
            await backend.all_blocked.wait()
        group.cancel_scope.cancel()
    record = services.registry.get("run-s")
    assert record.status is RunStatus.INTERRUPTED
    assert record.reason == run_driver.SHUTDOWN_REASON
    good = _scripted(good_answer(subjects))
    summary = await resume_digest(services, "run-s", good, DirectGovernor(), limits=LIMITS)
    assert summary.status == "completed"
    assert summary.areas["security-privacy"] == {"en": "ok", "zh": "ok"}
    assert _file(workspace, "javascript", "zh").exists()


async def test_an_interrupted_run_resumes_from_its_snapshot(
    services: RunServices, workspace: Workspace
) -> None:
    """After an interruption the lost requests are asked again and the run completes."""
    subjects = (*sample_subjects(), subject("security-privacy", ["Isolation"]))
    backend = Blocking(subjects, blocked=2)
    writer = NotifyingWriter(workspace)
    services = replace(services, writer=writer)
    async with anyio.create_task_group() as group:
        group.start_soon(lambda: _run(services, backend, subjects=subjects, run_id="run-r"))
        with anyio.fail_after(10):
            await backend.all_blocked.wait()
            await writer.wrote["css"].wait()
        group.cancel_scope.cancel()
    services.registry.update("run-r", status=RunStatus.INTERRUPTED)
    good = _scripted(good_answer(subjects))
    summary = await resume_digest(services, "run-r", good, DirectGovernor(), limits=LIMITS)
    assert summary.status == "completed"
    assert summary.areas["javascript"] == {"en": "ok", "zh": "ok"}
    assert {c.meta.area for c in good.calls} == {"javascript", "security-privacy"}
    assert _file(workspace, "security-privacy", "zh").exists()
    with pytest.raises(RunStateError, match="not interrupted"):
        await resume_digest(services, "run-r", good, DirectGovernor(), limits=LIMITS)


async def test_a_rerun_with_the_cache_makes_no_llm_call_and_rewrites_nothing(
    services: RunServices, workspace: Workspace
) -> None:
    """Same inputs, same governor: zero backend calls, files untouched (same timestamps)."""
    subjects = sample_subjects()
    backend = _scripted(good_answer(subjects))
    governor = DirectGovernor()
    await _run(services, backend, governor, run_id="first")
    before = _file(workspace, "css", "zh").read_bytes()
    calls = len(backend.calls)
    again = await _run(services, backend, governor, run_id="second")
    assert len(backend.calls) == calls
    assert (again.llm_calls, again.cache_hits) == (0, 4)
    assert again.areas["css"] == {"en": "cached", "zh": "cached"}
    assert again.written == ()
    assert len(again.unchanged) == 6
    assert _file(workspace, "css", "zh").read_bytes() == before


async def test_unchanged_digests_keep_their_files_byte_for_byte(
    services: RunServices, workspace: Workspace
) -> None:
    """The offline answer is deterministic: a second run writes nothing."""
    offline = _scripted(lambda r: LLMReply(text=r.meta.fallback))
    await _run(services, offline, run_id="o1", use_cache=False)
    first = _file(workspace, "javascript", "zh").read_bytes()
    again = await _run(services, offline, run_id="o2", use_cache=False)
    assert again.written == ()
    assert _file(workspace, "javascript", "zh").read_bytes() == first
    assert again.areas["javascript"] == {"en": "fallback", "zh": "fallback"}


async def test_a_passed_run_deadline_falls_back_for_what_is_left(
    services: RunServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Calls still out at the deadline are abandoned; every area still gets a digest."""
    monkeypatch.setattr(run_driver, "DEADLINE_GRACE", 0.0)
    subjects = sample_subjects()
    backend = Blocking(subjects, blocked=1)
    summary = await _run(services, backend, limits=RunLimits(4, run_deadline=0.05))
    assert summary.status == "completed"
    assert summary.areas["javascript"] == {"en": "fallback", "zh": "fallback"}
    assert summary.areas["css"] == {"en": "ok", "zh": "ok"}
    assert backend.cancelled == 1


# Input-required rounds -----------------------------------------------------------------------


async def test_progress_report_returns_the_run_and_events_after_a_sequence(
    services: RunServices,
) -> None:
    """A reconnecting client asks for events after the last one it saw."""
    subjects = sample_subjects()
    await _run(services, _scripted(good_answer(subjects)))
    full = progress_report(services, "run-a")
    assert full["run"]["status"] == "completed"
    later = progress_report(services, "run-a", after_seq=full["next_seq"] - 2)
    assert [e["kind"] for e in later["events"]] == ["StageFinished", "RunFinished"]
    assert later["next_seq"] == full["next_seq"]
    assert isinstance(later["events"][-1]["data"], dict)


async def test_run_finished_events_carry_the_counts(
    services: RunServices, recorder: RecordingHook
) -> None:
    """RunFinished reports calls, cache hits and fallbacks for dashboards."""
    subjects = sample_subjects()
    await _run(services, _scripted(lambda r: LLMReply(text=valid_english(subjects[0]))))
    (finished,) = recorder.of(RunFinished)
    assert finished.status == "completed"
    assert finished.fallbacks >= 1


async def test_replies_that_failed_validation_are_dropped_from_the_cache(
    services: RunServices,
) -> None:
    """Only accepted replies stay cached: a re-run asks the LLM again for rejected ones."""
    subjects = (sample_subjects()[1],)
    good = good_answer(subjects)
    backend = _scripted(lambda r: good(r) if r.meta.stage != "english_generation" else _nope())
    governor = DirectGovernor()
    first = await _run(services, backend, governor, subjects=subjects, run_id="v1")
    assert first.areas["javascript"] == {"en": "retried", "zh": "ok"}
    assert len(governor.cache) == 2  # the corrected English and the translation
    again = await _run(services, backend, governor, subjects=subjects, run_id="v2")
    assert (again.llm_calls, again.cache_hits) == (1, 2)


def _nope() -> LLMReply:
    return LLMReply(text="Nothing useful.")


async def test_a_rerun_through_the_real_governor_makes_no_backend_call(
    services: RunServices,
) -> None:
    """The governor's reply cache answers an unchanged run: zero LLM calls, four cache hits."""
    subjects = sample_subjects()
    backend = _scripted(good_answer(subjects))
    telemetry = Telemetry()
    cache = ReplyCache(None, telemetry, ttl=3600.0, max_entries=100)
    governor = Governor(GovernorConfig(rate_limit=1000.0, rate_burst=100), telemetry, cache=cache)
    first = await _run(services, backend, governor, run_id="g1")
    again = await _run(services, backend, governor, run_id="g2")
    assert (first.llm_calls, len(backend.calls)) == (4, 4)
    assert (again.llm_calls, again.cache_hits) == (0, 4)
    assert again.written == ()
