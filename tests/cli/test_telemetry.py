"""``webplatform-digest telemetry summary``: text, JSON, comparison, and clear errors."""

import orjson
import pytest

from tests.runs_support import run_of_a_dead_process
from tests.telemetry.run_events import simulated_run_events
from webplatform_digest.cli import main
from webplatform_digest.events import RunStarted
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.telemetry.jsonl import JsonlHook, telemetry_path

AREAS = ("css", "javascript", "webgpu")


def _record(workspace: Workspace, *run_ids: str) -> None:
    with JsonlHook(telemetry_path(workspace), max_bytes=1 << 24, backups=1) as hook:
        for run_id in run_ids:
            for event in simulated_run_events(run_id, AREAS):
                hook.handle(event)


def test_json_summary_is_one_document_on_stdout(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json prints the same document the MCP tool returns."""
    _record(workspace, "run-1")
    assert main(["telemetry", "summary", "--root", str(workspace.root), "--json"]) == 0
    summary = orjson.loads(capsys.readouterr().out)
    assert summary["runs"]["run-1"]["status"] == "completed"
    assert summary["stages"]["translation"]["zh"]["count"] == 3


def test_text_summary_shows_stages_rates_and_slowest_areas(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --json the summary is an aligned table for a terminal."""
    _record(workspace, "run-1")
    assert main(["telemetry", "summary", "--root", str(workspace.root), "--since", "1h"]) == 0
    out = capsys.readouterr().out
    assert "english_generation" in out
    assert "fallback_rate" in out
    assert "slowest areas:" in out


def test_two_runs_print_a_comparison(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """--run twice compares before and after."""
    _record(workspace, "run-1", "run-2")
    args = ["telemetry", "summary", "--root", str(workspace.root), "--run", "run-1"]
    assert main([*args, "--run", "run-2"]) == 0
    out = capsys.readouterr().out
    assert "before run-1  →  after run-2" in out
    assert "(no figure changed)" in out


def test_no_telemetry_is_reported_plainly(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty workspace says there are no events and exits 0."""
    assert main(["telemetry", "summary", "--root", str(workspace.root)]) == 0
    assert "no telemetry events" in capsys.readouterr().out


def test_a_bad_window_exits_2_with_a_one_line_reason(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unreadable --since is an input error (exit 2) naming the accepted forms."""
    assert main(["telemetry", "summary", "--root", str(workspace.root), "--since", "soon"]) == 2
    assert "use a duration like 30m" in capsys.readouterr().err


def test_a_killed_run_is_not_listed_as_running_forever(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """The log has no RunFinished for a run whose process died; the registry's status wins."""
    registry = workspace.root / ".monitoring" / "runs.sqlite3"
    killed = run_of_a_dead_process(registry)
    with JsonlHook(telemetry_path(workspace), max_bytes=1 << 24, backups=1) as hook:
        hook.handle(
            RunStarted(
                run_id=killed,
                version=144,
                channel="stable",
                areas=AREAS,
                languages=("en", "zh"),
                backend="offline",
            )
        )
    _record(workspace, "run-1")
    assert main(["telemetry", "summary", "--root", str(workspace.root), "--json"]) == 0
    runs = orjson.loads(capsys.readouterr().out)["runs"]
    assert runs[killed]["status"] == "interrupted"
    assert runs["run-1"]["status"] == "completed"
