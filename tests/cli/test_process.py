"""``process`` and ``areas`` through a real CLI subprocess on a temporary workspace."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES_DIR
from tests.server_process import run_cli

# every test runs the CLI as a subprocess
pytestmark = pytest.mark.slow


def _workspace(tmp_path: Path) -> Path:
    notes = tmp_path / "release_notes"
    notes.mkdir()
    for name in ("chrome-145.sample.md", "webgpu-145.sample.md", "chrome-146-beta.sample.md"):
        shutil.copy(SAMPLES_DIR / "release_notes" / name, notes / name.replace(".sample", ""))
    return tmp_path


def test_process_json_reports_areas_and_a_second_run_writes_nothing(tmp_path: Path) -> None:
    """``process --json`` prints the summary; re-running unchanged input writes no file."""
    root = _workspace(tmp_path)
    first = run_cli(root, "process", "--version", "145", "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert {"version", "channel", "areas", "features_total", "links_total"} <= set(summary)
    assert summary["areas"]["graphics-webgpu"] == 5
    assert summary["unclassified"] == ["Sundry"]
    assert (root / "processed/areas/css/chrome-145-stable.yml").is_file()
    second = json.loads(run_cli(root, "process", "--version", "145", "--json").stdout)
    assert second["written"] == []
    assert sorted(second["unchanged"]) == sorted(summary["written"])


def test_process_all_prints_one_summary_per_release(tmp_path: Path) -> None:
    """``--all --json`` prints a list, stable and beta, oldest first."""
    result = run_cli(_workspace(tmp_path), "process", "--all", "--json")
    assert result.returncode == 0, result.stderr
    assert [(s["version"], s["channel"]) for s in json.loads(result.stdout)] == [
        (145, "stable"),
        (146, "beta"),
    ]


def test_process_human_output_shows_the_table_and_unclassified_sections(tmp_path: Path) -> None:
    """Without ``--json`` a table of areas and the unclassified sections are printed."""
    result = run_cli(_workspace(tmp_path), "process", "--version", "145")
    assert result.returncode == 0, result.stderr
    assert "Chrome 145 (stable)" in result.stdout
    assert "graphics-webgpu" in result.stdout
    assert "unclassified sections (sent to 'other'): Sundry" in result.stdout


def test_a_missing_release_is_exit_code_2_with_one_line(tmp_path: Path) -> None:
    """The error is one line on stderr naming the file; nothing on stdout."""
    result = run_cli(_workspace(tmp_path), "process", "--version", "150")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("webplatform-digest: release note release_notes/chrome-150.md")


def test_process_needs_exactly_one_of_version_or_all(tmp_path: Path) -> None:
    """Neither (or both) is an input error, exit code 2."""
    result = run_cli(tmp_path, "process")
    assert result.returncode == 2
    assert "exactly one of --version N, --range A-B or --all" in result.stderr


def test_an_invalid_version_is_exit_code_2(tmp_path: Path) -> None:
    """Versions are validated before any file is touched."""
    result = run_cli(tmp_path, "process", "--version", "../../etc")
    assert result.returncode == 2
    assert "Chrome milestone" in result.stderr


def test_areas_lists_the_catalogue_with_workspace_overrides(tmp_path: Path) -> None:
    """``areas --json`` includes shipped areas and the workspace's additions."""
    (tmp_path / "focus_areas").mkdir()
    (tmp_path / "focus_areas" / "x.yaml").write_text(
        "id: extensions\nname: Extensions\nname_zh: 扩展\ndescription: Extension APIs.\n",
        encoding="utf-8",
    )
    result = run_cli(tmp_path, "areas", "--json")
    assert result.returncode == 0, result.stderr
    ids = [area["id"] for area in json.loads(result.stdout)]
    assert {"css", "graphics-webgpu", "extensions"} <= set(ids)
    assert ids[-1] == "other"
    human = run_cli(tmp_path, "areas")
    assert "graphics-webgpu" in human.stdout
    assert "图形与 WebGPU" in human.stdout


def test_a_broken_workspace_catalogue_is_exit_code_2(tmp_path: Path) -> None:
    """A malformed focus-area file fails fast with its name."""
    (tmp_path / "focus_areas").mkdir()
    (tmp_path / "focus_areas" / "bad.yaml").write_text("id: css\ncolour: red\n", encoding="utf-8")
    result = run_cli(tmp_path, "areas")
    assert result.returncode == 2
    assert "bad.yaml: unknown key(s) colour" in result.stderr


def test_the_process_command_does_not_import_fastmcp() -> None:
    """The batch CLI stays light: importing its handlers pulls in no MCP framework."""
    code = (
        "import sys, webplatform_digest.cli.process, webplatform_digest.services.process; "
        "sys.exit(1 if 'fastmcp' in sys.modules or 'mcp' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60, check=False).returncode == 0
