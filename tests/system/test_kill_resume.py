"""Resume everything: a real ``webplatform-digest run`` killed at random moments always finishes.

Each chain starts a run against the loopback fake LLM and kills the process (SIGKILL) at a
seeded random moment: a time after the spawn (from start-up to the last reply, so before the
run exists, before the first reply, mid-run) or the moment the fake has answered its k-th
request. Then ``run --resume ID`` continues, and is killed again, until a resume completes.
SIGINT (Ctrl-C) and SIGTERM stop a run as a shutdown does: exit 130/143, the resume command on
stderr, the run ``interrupted``. Every chain must end with every digest model-written, and no
request answered well before a kill may be asked again after it: accepted replies are stored.
"""

import json
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.digest_samples import subject, write_processed
from tests.fake_llm import Exchange, FakeLLM, FaultProfile, running_fake_llm
from tests.server_process import clean_env
from tests.system.support import record_figures
from webplatform_digest.digest.files import parse_digest_file
from webplatform_digest.runs.registry import RunRecord, RunRegistry, RunStatus
from webplatform_digest.storage.workspace import Workspace

pytestmark = pytest.mark.system

AREAS = {
    "css": ["Caret shapes", "Highlight pseudos"],
    "javascript": ["Iterator helpers", "Float16 arrays"],
    "security-privacy": ["Storage partitioning"],
    "html-dom": ["Popover hints"],
    "network": ["Compression dictionaries"],
    "performance": ["Speculation rules"],
}
#: seeded kill moments: at least 20 kills over the chains
KILLS_WANTED = 20
#: a reply answered this long before a kill must have been stored by then (generous: CI load)
STORED_WITHIN = 1.5
STARTED = re.compile(r"run (\S+) started")


def _run(root: Path, fake: FakeLLM, *args: str) -> subprocess.Popen[str]:
    env = clean_env(
        {"WEBPLATFORM_RATE_LIMIT": "100", "WEBPLATFORM_RATE_BURST": "10", "NO_COLOR": "1"}
    )
    command = [sys.executable, "-m", "webplatform_digest", "run", "--root", str(root)]
    llm = ["--llm", "openai", "--llm-base-url", fake.base_url, "--llm-model", "fake-model"]
    return subprocess.Popen(
        [*command, *args, *llm, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _workspace(root: Path) -> Path:
    write_processed(
        Workspace.at(root), tuple(subject(area, titles) for area, titles in AREAS.items())
    )
    return root


def _registry(root: Path) -> RunRegistry:
    return RunRegistry(root / ".monitoring" / "runs.sqlite3")


def _kill_at_random(proc: subprocess.Popen[str], fake: FakeLLM, rng: random.Random) -> bool:
    """Kill ``proc`` at a random moment; False when it finished first."""
    answered = sum(1 for e in fake.exchanges() if e.answered_at is not None)
    if rng.random() < 0.5:
        try:
            proc.wait(timeout=rng.uniform(0.05, 2.5))  # the kill moment itself is random
            return False
        except subprocess.TimeoutExpired:
            pass
    else:
        k = answered + rng.randint(0, 2 * len(AREAS))
        fake.wait_for(
            lambda f: (
                sum(1 for e in f.exchanges() if e.answered_at is not None) >= k
                or proc.poll() is not None
            ),
            timeout=30,
        )
    if proc.poll() is not None:
        return False
    proc.kill()
    proc.communicate(timeout=30)  # reaps it and closes its pipes
    return True


def _latest_run(root: Path) -> RunRecord | None:
    registry = _registry(root)
    try:
        registry.recover_interrupted()
        runs = registry.list_runs(1)
        return runs[0] if runs else None
    finally:
        registry.close()


def _asked_again(exchanges: list[Exchange], kills: list[float]) -> list[str]:
    """Prompts asked again after a kill although answered well before it."""
    first: dict[str, float] = {}
    again: list[str] = []
    for exchange in exchanges:
        answered = first.get(exchange.prompt)
        if answered is not None:
            killed_after = [k for k in kills if answered < k <= exchange.arrived_at]
            if killed_after and answered < killed_after[0] - STORED_WITHIN:
                again.append(exchange.prompt[:60])
        elif exchange.outcome == "ok" and exchange.answered_at is not None:
            first[exchange.prompt] = exchange.answered_at
    return again


def _chain(root: Path, fake: FakeLLM, rng: random.Random) -> tuple[list[float], dict[str, Any]]:
    """Kill and resume one run until it completes; the kill times and the final summary."""
    kills: list[float] = []
    args: tuple[str, ...] = ("--version", "144")
    while True:
        proc = _run(root, fake, *args)
        if _kill_at_random(proc, fake, rng):
            kills.append(time.time())
            run = _latest_run(root)
            if run is not None and run.status is RunStatus.COMPLETED and run.summary:
                return kills, run.summary  # killed while printing: the run had finished
            args = ("--resume", run.run_id) if run is not None else ("--version", "144")
            continue
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        return kills, json.loads(out)


def _model_written(root: Path, summary: dict[str, Any]) -> None:
    assert summary["status"] == "completed"
    assert summary["fallbacks"] == 0
    statuses = {s for row in summary["areas"].values() for s in row.values()}
    assert statuses <= {"ok", "cached"}, summary["areas"]
    files = list((root / "digest_markdown" / "areas").rglob("*.md"))
    assert len(files) == 2 * len(AREAS)
    assert {parse_digest_file(p.read_bytes()).backend for p in files} == {"openai"}


def test_a_run_killed_at_any_moment_is_finished_by_resume(tmp_path: Path) -> None:
    rng = random.Random(20261205)
    kills, chains, asked_twice = 0, 0, 0
    with running_fake_llm(FaultProfile(latency_ms=(100, 300), seed=7)) as fake:
        while kills < KILLS_WANTED:
            before = len(fake.exchanges())
            root = _workspace(tmp_path / f"chain-{chains}")
            killed, summary = _chain(root, fake, rng)
            kills, chains = kills + len(killed), chains + 1
            _model_written(root, summary)
            exchanges = fake.exchanges()[before:]
            asked_twice += sum(1 for n in Counter(e.prompt for e in exchanges).values() if n > 1)
            assert _asked_again(exchanges, killed) == []
    record_figures(
        "kill_resume",
        {
            "kills": kills,
            "chains": chains,
            "finished_by_resume": 1.0,
            "in_flight_re_asked": asked_twice,
        },
    )


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_leave_a_resumable_run_and_say_how_to_resume_it(
    tmp_path: Path, signum: int
) -> None:
    root = _workspace(tmp_path)
    with running_fake_llm(FaultProfile(latency_ms=(200, 400), seed=3)) as fake:
        proc = _run(root, fake, "--version", "144")
        assert fake.wait_for(
            lambda f: sum(1 for e in f.exchanges() if e.answered_at is not None) >= 2, timeout=30
        )
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 128 + signum, err
        run_id = STARTED.search(err)
        assert run_id is not None, err
        assert f"webplatform-digest run --resume {run_id[1]}" in err
        assert "Traceback" not in err
        registry = _registry(root)
        assert registry.get(run_id[1]).status is RunStatus.INTERRUPTED
        registry.close()
        resumed = _run(root, fake, "--resume", run_id[1])
        out, err = resumed.communicate(timeout=60)
        assert resumed.returncode == 0, err
        _model_written(root, json.loads(out))
