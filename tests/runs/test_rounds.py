"""The input-required driver: rounds meet the schedule limit, tokens are single-use, missing
replies fall back, cached reruns need no round, deferred write failures surface; rounds are
governed (no more than the concurrency limit per round unless the client's round cap forces it,
the summary says so) and paced to the rate limit."""

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import PurePosixPath

import pytest

from tests.digest_samples import answer_round, good_answer, plan, sample_subjects, subject
from webplatform_digest.digest.machine import Failure
from webplatform_digest.digest.prompts import Subject
from webplatform_digest.digest.state import RunLimits
from webplatform_digest.errors import RunStateError, WriteError
from webplatform_digest.events import LLMAttempt, RecordingHook
from webplatform_digest.llm.port import LLMReply, LLMRequest
from webplatform_digest.runs.deferred import DeferredWrites
from webplatform_digest.runs.registry import RunStatus
from webplatform_digest.runs.rounds import ReplyStore, advance_rounds, start_rounds
from webplatform_digest.runs.session import Round, RunServices
from webplatform_digest.runs.summary import RunSummary
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import BatchResult, DirectWriter

LIMITS = RunLimits(max_concurrency=4, run_deadline=600.0)


class FakeWall:
    """A wall clock that only the paced waits move."""

    def __init__(self) -> None:
        self.now = 1_760_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def _rounds(
    services: RunServices, areas: int, limits: RunLimits
) -> tuple[RunSummary, list[tuple[float, int]]]:
    """Drive a run whose client answers at once; each round's issue time and size."""
    wall = FakeWall()
    services = replace(services, wall=wall, sleep=wall.sleep)
    subjects = tuple(subject(f"a{i}", ["One", "Two"]) for i in range(areas))
    answer = good_answer(subjects)
    step = await start_rounds(services, plan(subjects, run_id="paced"), limits=limits)
    issued: list[tuple[float, int]] = []
    while isinstance(step, Round):
        issued.append((wall.now, len(step.requests)))
        step = await answer_round(services, step, answer, limits)
    return step, issued


def _most_in_one_second(issued: list[tuple[float, int]]) -> int:
    return max(sum(n for t, n in issued if start <= t < start + 1.0) for start, _ in issued)


async def test_rounds_stay_within_the_concurrency_and_the_rate_limit(
    services: RunServices,
) -> None:
    """12 requests at C = 2 and 2 requests/s: 6 rounds of 2, one second apart."""
    limits = RunLimits(max_concurrency=2, rate_limit=2.0, round_budget=20)
    summary, issued = await _rounds(services, 6, limits)
    assert summary.status == "completed"
    assert [n for _, n in issued] == [2] * 6
    assert _most_in_one_second(issued) <= 2
    span = issued[-1][0] - issued[0][0]
    assert sum(n for _, n in issued[:-1]) / span <= 2.0
    assert summary.round_note == ""


async def test_an_unpaced_run_never_waits(services: RunServices) -> None:
    summary, issued = await _rounds(services, 2, RunLimits(max_concurrency=4))
    assert summary.status == "completed"
    assert {t for t, _ in issued} == {issued[0][0]}


async def test_a_round_larger_than_the_limit_only_when_the_round_cap_forces_it_and_says_so(
    services: RunServices,
) -> None:
    """Five rounds for twelve requests at C = 2: some rounds must carry more."""
    limits = RunLimits(max_concurrency=2, rate_limit=100.0, round_budget=5)
    summary, issued = await _rounds(services, 6, limits)
    assert summary.status == "completed"
    assert len(issued) <= 5
    assert max(n for _, n in issued) > 2
    assert "WEBPLATFORM_INPUT_ROUNDS" in summary.round_note
    assert summary.to_json()["round_note"] == summary.round_note


async def _drive_rounds(
    services: RunServices,
    subjects: tuple[Subject, ...],
    answer: Callable[[LLMRequest], LLMReply | Failure],
    limits: RunLimits = LIMITS,
    *,
    cache: ReplyStore | None = None,
) -> tuple[RunSummary, list[Round]]:
    step = await start_rounds(services, plan(subjects, run_id="rounds"), limits=limits, cache=cache)
    rounds: list[Round] = []
    while isinstance(step, Round):
        rounds.append(step)
        assert len(step.requests) <= limits.max_concurrency
        step = await answer_round(services, step, answer, limits, cache=cache)
    return step, rounds


@pytest.mark.parametrize("deferring", [False, True])
@pytest.mark.parametrize("areas", [1, 3, 5])
async def test_rounds_meet_the_schedule_limit_and_complete_the_run(
    services: RunServices, workspace: Workspace, areas: int, deferring: bool
) -> None:
    """N areas at C = 2 take max(2, ceil(2N/C)) rounds; files and registry are complete, with
    or without writes deferred past each round's reply."""
    subjects = tuple(subject(f"a{i}", ["One", "Two"]) for i in range(areas))
    async with DeferredWrites.open() as deferred:
        if deferring:
            services = replace(services, deferred=deferred)
        summary, rounds = await _drive_rounds(
            services, subjects, good_answer(subjects), RunLimits(max_concurrency=2)
        )
    assert len(rounds) == max(2, math.ceil(2 * areas / 2))
    assert summary.status == "completed"
    assert summary.llm_calls == 2 * areas
    assert len(summary.written) == 2 * areas
    digests = workspace.root / "digest_markdown" / "areas"
    assert all((digests / f"a{i}" / "chrome-144-zh.md").exists() for i in range(areas))
    assert services.registry.get("rounds").status is RunStatus.COMPLETED


async def test_round_tokens_cannot_be_replayed_or_forged(services: RunServices) -> None:
    """A used token and an invented one are rejected; the run is unchanged by them."""
    subjects = sample_subjects()
    answer = good_answer(subjects)
    first = await start_rounds(services, plan(subjects, run_id="rounds"), limits=LIMITS)
    assert isinstance(first, Round)
    assert services.registry.get("rounds").status is RunStatus.AWAITING_INPUT
    replies = {p.request_id: answer(p.request) for p in first.requests}
    second = await advance_rounds(services, "rounds", first.token, replies, limits=LIMITS)
    assert isinstance(second, Round)
    assert second.token != first.token
    with pytest.raises(RunStateError, match="replayed"):
        await advance_rounds(services, "rounds", first.token, replies, limits=LIMITS)
    with pytest.raises(RunStateError, match="forged"):
        await advance_rounds(services, "rounds", "x" * 43, replies, limits=LIMITS)
    assert services.registry.get("rounds").round == 2


async def test_missing_and_failed_client_replies_fall_back(services: RunServices) -> None:
    """A round answered with nothing, or with failures, still ends with every digest."""
    subjects = sample_subjects()
    summary, _ = await _drive_rounds(
        services, subjects, lambda r: Failure("SamplingRejectedError", "user declined")
    )
    assert summary.areas["css"] == {"en": "fallback", "zh": "fallback"}
    first = await start_rounds(services, plan(subjects, run_id="empty-replies"), limits=LIMITS)
    assert isinstance(first, Round)
    step = await advance_rounds(services, "empty-replies", first.token, {}, limits=LIMITS)
    assert isinstance(step, Round)
    assert {p.request_id for p in step.requests} == {"css.zh.1", "javascript.zh.1"}


class MemoryStore:
    """Reply cache for the rounds flow (the ReplyCache interface, memory only)."""

    def __init__(self) -> None:
        self.replies: dict[str, LLMReply] = {}

    async def get(self, key: str, *, run_id: str | None = None) -> LLMReply | None:
        return self.replies.get(key)

    async def put(self, key: str, reply: LLMReply) -> None:
        self.replies[key] = reply


async def test_a_cached_rerun_of_the_rounds_flow_needs_no_round(
    services: RunServices, recorder: RecordingHook
) -> None:
    """With every reply cached, the first call already returns the final summary."""
    subjects = sample_subjects()
    store = MemoryStore()
    await _drive_rounds(services, subjects, good_answer(subjects), cache=store)
    step = await start_rounds(services, plan(subjects, run_id="again"), limits=LIMITS, cache=store)
    assert isinstance(step, RunSummary)
    assert (step.llm_calls, step.cache_hits) == (0, 4)
    assert step.areas["css"] == {"en": "cached", "zh": "cached"}
    attempts = [e for e in recorder.of(LLMAttempt) if e.run_id == "again"]
    assert {e.outcome for e in attempts} == {"cached"}


class FailingWriter(DirectWriter):
    """A writer whose every batch fails like a full disk."""

    async def write_batch(
        self,
        files: Mapping[PurePosixPath, bytes],
        *,
        kind: str = "other",
        remove: tuple[PurePosixPath, ...] = (),
    ) -> BatchResult:
        raise WriteError("cannot write digest: no space left on device")


async def test_a_deferred_write_failure_fails_the_run_at_its_next_round(
    services: RunServices, workspace: Workspace
) -> None:
    """A write that failed in the background surfaces on the next call; the run is failed."""
    subjects = (subject("a0", ["One"]), subject("a1", ["One"]), subject("a2", ["One"]))
    answer = good_answer(subjects)
    limits = RunLimits(max_concurrency=2)
    async with DeferredWrites.open() as deferred:
        failing = replace(services, deferred=deferred, writer=FailingWriter(workspace))
        step = await start_rounds(failing, plan(subjects, run_id="df"), limits=limits)
        for _ in range(2):  # the second round finishes area a0: its write fails in the background
            assert isinstance(step, Round)
            step = await answer_round(failing, step, answer, limits)
        assert isinstance(step, Round)
        with pytest.raises(WriteError, match="no space left"):
            await answer_round(failing, step, answer, limits)
    record = services.registry.get("df")
    assert record.status is RunStatus.FAILED
    assert "no space left" in record.reason
