"""The JSON form of a run's state: stored runs keep resuming, byte for byte."""

from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.digest_samples import good_answer, sample_subjects, subject
from webplatform_digest.digest.codec import restore_run, run_snapshot
from webplatform_digest.digest.machine import DigestRun
from webplatform_digest.errors import RunStateError

#: a run snapshot as the registry stored it before ``digest.codec`` existed (written at commit
#: 7a0d2a9 by ``DigestRun.snapshot`` plus ``RunSession``'s ``"driver"`` bookkeeping): css English
#: retried, javascript English failed, security-privacy English cached, three Chinese in flight
STORED = Path(__file__).parents[1] / "data" / "digest" / "run-snapshot-v1.json"


def _stored() -> dict[str, Any]:
    return orjson.loads(STORED.read_bytes())


def _finish(run: DigestRun) -> None:
    answer = good_answer((*sample_subjects(), subject("security-privacy", ["Origin isolation"])))
    for request_id in run.in_flight:
        run.feed(request_id, answer(run.request_for(request_id)))
    while not run.done:
        for pending in run.ready_requests(4):
            run.feed(pending.request_id, answer(pending.request))


def test_a_stored_snapshot_encodes_again_to_the_same_bytes() -> None:
    """Restore then snapshot: the stored bytes, whether the plan is re-serialised or reused."""
    stored = _stored()
    driver = {"driver": stored["driver"]}
    run = restore_run(stored)
    assert orjson.dumps(run_snapshot(run) | driver) == STORED.read_bytes()
    reused = run_snapshot(run, plan_json=stored["plan"])
    assert reused["plan"] is stored["plan"]
    assert orjson.dumps(reused | driver) == STORED.read_bytes()


def test_a_stored_run_continues_with_what_it_had_decided() -> None:
    """Counters, outcomes so far and in-flight requests survive; the run then completes."""
    run = restore_run(_stored())
    assert set(run.in_flight) == {"css.zh.1", "javascript.zh.1", "security-privacy.zh.1"}
    assert (run.llm_calls, run.cache_hits) == (3, 1)
    assert run.progress().completed == 5
    _finish(run)
    assert run.statuses() == {
        "css": {"en": "retried", "zh": "ok"},
        "javascript": {"en": "fallback", "zh": "ok"},
        "graphics-webgpu": {"en": "empty", "zh": "empty"},
        "security-privacy": {"en": "cached", "zh": "ok"},
    }
    assert run.llm_calls == 6
    assert [o.outcome for o in run.outcomes if o.stage == "english_generation"] == [
        "retried",
        "error",
        "cached",
    ]


@pytest.mark.parametrize(
    "broken",
    [{}, {"schema": 2}, {"schema": 1, "plan": {}}, {"schema": 1, "plan": None, "items": []}],
)
def test_a_malformed_snapshot_is_a_clear_run_state_error(broken: dict[str, object]) -> None:
    """Restoring garbage fails with RunStateError, not a crash."""
    with pytest.raises(RunStateError, match="cannot be resumed"):
        restore_run(broken)


def test_items_that_do_not_match_the_plan_are_refused() -> None:
    """A snapshot missing an item of its own plan is not resumed half-way."""
    stored = _stored()
    stored["items"] = stored["items"][1:]
    with pytest.raises(RunStateError, match="items do not match the plan"):
        restore_run(stored)
