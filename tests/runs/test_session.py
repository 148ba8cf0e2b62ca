"""Opening and continuing runs: one opening for both drivers; stored runs keep resuming."""

import gc
import math
from pathlib import Path
from typing import Any

import orjson

from tests.digest_samples import (
    DirectGovernor,
    answer_round,
    good_answer,
    plan,
    sample_subjects,
    subject,
)
from tests.fakes import ScriptedBackend
from webplatform_digest.digest.codec import restore_run
from webplatform_digest.digest.machine import DigestRun
from webplatform_digest.events import RecordingHook, RunStarted
from webplatform_digest.llm.port import LLMReply
from webplatform_digest.runs.driver import (
    RunLimits,
    advance_rounds,
    resume_digest,
    run_digest,
    start_rounds,
)
from webplatform_digest.runs.registry import RunStatus
from webplatform_digest.runs.session import Round, RunServices, RunSession, open_run
from webplatform_digest.runs.summary import RunSummary
from webplatform_digest.storage.workspace import Workspace

#: stored by the code before ``digest.codec`` (see tests/digest/test_codec.py)
STORED = Path(__file__).parents[1] / "data" / "digest" / "run-snapshot-v1.json"
SUBJECTS = (*sample_subjects(), subject("security-privacy", ["Origin isolation"]))
FINAL = {
    "css": {"en": "retried", "zh": "ok"},
    "javascript": {"en": "fallback", "zh": "ok"},
    "graphics-webgpu": {"en": "empty", "zh": "empty"},
    "security-privacy": {"en": "cached", "zh": "ok"},
}
#: the stored run started at wall time 1000 s: no deadline, so its age does not matter here
NO_DEADLINE = RunLimits(run_deadline=math.inf)


def _store(services: RunServices, status: RunStatus) -> tuple[str, dict[str, Any]]:
    """Put the stored snapshot into the registry, as the old code left it."""
    stored = orjson.loads(STORED.read_bytes())
    run_id = stored["plan"]["run_id"]
    services.registry.create_run(version=144, channel="stable", params={}, run_id=run_id)
    services.registry.update(run_id, status=status, snapshot=stored)
    return run_id, stored


def test_opening_a_run_registers_it_and_announces_it(
    services: RunServices, recorder: RecordingHook
) -> None:
    """The registry record carries the parameters; RunStarted names the areas and backend."""
    session = open_run(
        services,
        plan(run_id="run-o"),
        backend="openai",
        timer=lambda: 5.0,
        use_cache=False,
        params={"version": 144},
    )
    record = services.registry.get("run-o")
    assert (record.status, record.params) == (RunStatus.RUNNING, {"version": 144})
    [started] = recorder.of(RunStarted)
    assert isinstance(started, RunStarted)
    assert started.run_id == "run-o"
    assert started.areas == ("css", "javascript", "graphics-webgpu")
    assert (session.book.backend, session.book.use_cache, session.book.started) == (
        "openai",
        False,
        5.0,
    )


async def test_a_run_cut_short_before_its_first_save_still_resumes(
    services: RunServices,
) -> None:
    """The opening stores the initial state: a process killed right after can be resumed."""
    open_run(services, plan(run_id="run-k"), backend="scripted", timer=lambda: 0.0)
    services.registry.update("run-k", status=RunStatus.INTERRUPTED)
    backend = ScriptedBackend(script=good_answer(sample_subjects()))
    summary = await resume_digest(services, "run-k", backend, DirectGovernor(), limits=NO_DEADLINE)
    assert summary.status == "completed"
    assert summary.areas["css"] == {"en": "ok", "zh": "ok"}
    assert len(backend.calls) == 4


async def test_a_run_stored_before_the_codec_resumes_in_process(
    services: RunServices, workspace: Workspace
) -> None:
    """Only the three lost Chinese requests are asked again; earlier writes stay counted."""
    run_id, stored = _store(services, RunStatus.INTERRUPTED)
    backend = ScriptedBackend(script=good_answer(SUBJECTS))
    summary = await resume_digest(services, run_id, backend, DirectGovernor(), limits=NO_DEADLINE)
    assert (summary.status, summary.areas) == ("completed", FINAL)
    assert sorted(f"{c.meta.area}.{c.meta.language}" for c in backend.calls) == [
        "css.zh",
        "javascript.zh",
        "security-privacy.zh",
    ]
    assert set(stored["driver"]["written"]) <= set(summary.written)
    assert (workspace.root / "digest_markdown/areas/security-privacy/chrome-144-zh.md").exists()


async def test_a_run_stored_before_the_codec_continues_as_client_rounds(
    services: RunServices,
) -> None:
    """The client's replies to the stored round finish the run."""
    run_id, stored = _store(services, RunStatus.AWAITING_INPUT)
    token = services.registry.issue_token(run_id, 3)
    machine, answer = restore_run(stored), good_answer(SUBJECTS)
    replies: dict[str, LLMReply] = {
        rid: answer(machine.request_for(rid)) for rid in machine.in_flight
    }
    outcome = await advance_rounds(services, run_id, token, replies, limits=NO_DEADLINE)
    assert isinstance(outcome, RunSummary)
    assert (outcome.status, outcome.areas) == ("completed", FINAL)
    assert services.registry.get(run_id).status is RunStatus.COMPLETED


async def test_finished_runs_leave_no_run_state_alive(services: RunServices) -> None:
    """Ten runs of each driver later, none of their machines or sessions is still referenced:
    a long-lived server's memory does not grow with the runs it has served."""
    answer = good_answer(SUBJECTS)
    governor = DirectGovernor()
    for index in range(10):
        backend = ScriptedBackend(script=answer)
        summary = await run_digest(
            services, plan(SUBJECTS, run_id=f"s{index}"), backend, governor, limits=NO_DEADLINE
        )
        assert summary.status == "completed"
        step = await start_rounds(services, plan(SUBJECTS, run_id=f"r{index}"), limits=NO_DEADLINE)
        while isinstance(step, Round):
            step = await answer_round(services, step, answer, NO_DEADLINE)
        assert step.status == "completed"
    gc.collect()
    assert [o for o in gc.get_objects() if isinstance(o, DigestRun | RunSession)] == []
