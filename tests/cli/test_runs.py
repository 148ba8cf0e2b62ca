"""``webplatform-digest runs``: recent runs newest first, killed runs shown interrupted."""

import json
from pathlib import Path

import pytest

from tests.digest_samples import sample_subjects, write_processed
from tests.runs_support import run_of_a_dead_process
from webplatform_digest.cli import main
from webplatform_digest.runs.registry import RunRegistry
from webplatform_digest.storage.workspace import Workspace


@pytest.fixture
def root(workspace: Workspace) -> Path:
    """A workspace whose Chrome 144 area data is processed (hand-written sample areas)."""
    write_processed(workspace, sample_subjects())
    return workspace.root


def _runs(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["runs", "--root", str(root), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_workspace_without_runs_says_so(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0 with one line of text, or an empty list as JSON."""
    assert _runs(root, capsys) == (0, "no digest runs in this workspace yet\n", "")
    code, out, _ = _runs(root, capsys, "--json")
    assert (code, json.loads(out)) == (0, {"runs": []})


def test_finished_runs_are_listed_newest_first_with_backend_and_counts(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two offline runs: the second first, each completed with its digest counts."""
    for areas in ("css", "css,javascript"):
        assert main(["run", "--root", str(root), "--version", "144", "--areas", areas]) == 0
    capsys.readouterr()
    code, out, _ = _runs(root, capsys, "--json")
    rows = json.loads(out)["runs"]
    assert code == 0
    assert [(r["status"], r["version"], r["backend"]) for r in rows] == [
        ("completed", 144, "offline"),
        ("completed", 144, "offline"),
    ]
    assert [r["counts"] for r in rows] == [{"fallback": 4}, {"fallback": 2}]
    assert all(r["finished"] for r in rows)


def test_a_run_whose_process_died_is_listed_interrupted_with_its_resume_command(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run registered by a process that then exited (as after SIGKILL) shows as interrupted."""
    registry = root / ".monitoring" / "runs.sqlite3"
    run_id = run_of_a_dead_process(registry, {"backend": "openai"})
    status, out, _ = _runs(root, capsys)
    assert status == 0
    assert f"{run_id}  interrupted" in out
    assert f"resume: webplatform-digest run --resume {run_id}" in out
    assert RunRegistry(registry).get(run_id).status.value == "interrupted"


@pytest.mark.parametrize("limit", ["0", "1001", "ten", "-3"])
def test_a_bad_limit_is_one_line_and_exit_2(
    root: Path, capsys: pytest.CaptureFixture[str], limit: str
) -> None:
    """--limit outside 1-1000 is refused before the registry is opened."""
    code, out, err = _runs(root, capsys, "--limit", limit)
    assert (code, out) == (2, "")
    assert "--limit" in err
    assert err.count("\n") == 1
    assert not (root / ".monitoring").exists()
