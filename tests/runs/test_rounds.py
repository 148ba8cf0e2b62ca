"""Input-required rounds are governed: no more than the concurrency limit per round unless the
client's round cap forces it (the summary says so), and paced to the rate limit."""

from dataclasses import replace

from tests.digest_samples import good_answer, plan, subject
from webplatform_digest.digest.state import RunLimits
from webplatform_digest.runs.rounds import advance_rounds, start_rounds
from webplatform_digest.runs.session import Round, RunServices
from webplatform_digest.runs.summary import RunSummary


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
        replies = {p.request_id: answer(p.request) for p in step.requests}
        step = await advance_rounds(services, "paced", step.token, replies, limits=limits)
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
