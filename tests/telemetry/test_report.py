"""Workspace summaries: what the CLI, the MCP tool and /metrics/summary return."""

import pytest

from tests.fakes import FakeClock
from tests.telemetry.run_events import simulated_run_events
from webplatform_digest.errors import InputError, NotFoundError
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.telemetry.jsonl import (
    GAUGE_SAMPLES,
    JsonlHook,
    rotated_path,
    telemetry_path,
)
from webplatform_digest.telemetry.report import summarise_workspace

AREAS = ("css", "javascript", "webgpu", "security")
NOW = 1_800_000_000.0


def _record(workspace: Workspace, run_id: str, start: float, *, max_bytes: int = 1 << 24) -> None:
    with JsonlHook(
        telemetry_path(workspace), max_bytes=max_bytes, backups=5, wall=FakeClock(start)
    ) as hook:
        for event in simulated_run_events(run_id, AREAS):
            hook.handle(event)


def test_an_empty_workspace_has_an_empty_summary(workspace: Workspace) -> None:
    """No telemetry yet: zero events, no files, no error."""
    summary = summarise_workspace(workspace, now=lambda: NOW)
    assert summary["events"] == 0
    assert summary["source"] == {"files": [], "corrupt_lines": 0, "since": None}


def test_the_summary_reads_rotated_files_and_reports_corrupt_lines(workspace: Workspace) -> None:
    """Events from every rotated file count; a corrupt line is skipped and reported."""
    _record(workspace, "run-a", NOW - 7200, max_bytes=8192)
    path = telemetry_path(workspace)
    with path.open("ab") as handle:
        handle.write(b'{"ts": 1, "type": "LLMAtt\n')
    summary = summarise_workspace(workspace, now=lambda: NOW)
    assert rotated_path(path, 1).name in summary["source"]["files"]
    assert summary["source"]["corrupt_lines"] == 1
    logged = [e for e in simulated_run_events("run-a", AREAS) if type(e) not in GAUGE_SAMPLES]
    assert summary["events"] == len(logged)
    assert summary["llm"]["attempts"] > 0


def test_since_limits_the_window(workspace: Workspace) -> None:
    """`since=1h` leaves out a run recorded two hours ago."""
    _record(workspace, "old", NOW - 7200)
    _record(workspace, "new", NOW - 60)
    summary = summarise_workspace(workspace, since="1h", now=lambda: NOW)
    assert set(summary["runs"]) == {"new"}
    assert summary["source"]["since"] == "2027-01-15T07:00:00Z"


def test_two_runs_are_compared(workspace: Workspace) -> None:
    """Two run ids give before, after and the comparison of the two."""
    _record(workspace, "before", NOW - 600)
    _record(workspace, "after", NOW - 60)
    result = summarise_workspace(workspace, runs=("before", "after"), now=lambda: NOW)
    assert result["before"]["run_id"] == "before"
    assert result["comparison"]["llm.attempts"]["ratio"] == 1.0


def test_an_unknown_run_or_bad_window_is_a_clear_error(workspace: Workspace) -> None:
    """Missing runs are NotFoundError; malformed windows, ids or too many runs InputError."""
    _record(workspace, "run-a", NOW - 60)
    with pytest.raises(NotFoundError, match="run-b"):
        summarise_workspace(workspace, runs=("run-b",), now=lambda: NOW)
    with pytest.raises(InputError):
        summarise_workspace(workspace, since="last tuesday", now=lambda: NOW)
    with pytest.raises(InputError):
        summarise_workspace(workspace, since=NOW * 2, now=lambda: NOW)
    with pytest.raises(InputError):
        summarise_workspace(workspace, runs=("a", "b", "c"), now=lambda: NOW)
    with pytest.raises(InputError):
        summarise_workspace(workspace, runs=("x" * 500,), now=lambda: NOW)
