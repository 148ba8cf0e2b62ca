"""``search`` through a real CLI subprocess, on the bundled samples and the real corpus."""

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES_DIR
from tests.server_process import run_cli

# every test runs the CLI as a subprocess
pytestmark = pytest.mark.slow


def _processed(tmp_path: Path, notes: Path, pattern: str) -> Path:
    target = tmp_path / "release_notes"
    target.mkdir()
    for note in notes.glob(pattern):
        shutil.copyfile(note, target / note.name.replace(".sample", ""))
    assert run_cli(tmp_path, "process", "--all").returncode == 0
    return tmp_path


def test_search_json_is_the_tool_result_and_the_table_lists_the_same_features(
    tmp_path: Path,
) -> None:
    root = _processed(tmp_path, SAMPLES_DIR / "release_notes", "*.sample.md")

    as_json = run_cli(root, "search", "--area", "css", "--since", "145", "--json")
    as_text = run_cli(root, "search", "--area", "css", "--since", "145")

    assert as_json.returncode == 0, as_json.stderr
    result = json.loads(as_json.stdout)
    assert set(result) == {"query", "area", "since", "until", "limit", "total", "features"}
    assert result["total"] == len(result["features"]) > 0
    assert {f["area"] for f in result["features"]} == {"css"}
    assert as_text.stdout.splitlines()[0].split() == [
        "release", "stage", "area", "title", "chromestatus",
    ]  # fmt: skip
    assert all(f["title"][:40] in as_text.stdout for f in result["features"])
    assert f"{result['total']} feature(s)" in as_text.stdout


def test_bad_search_arguments_exit_2_with_one_line(tmp_path: Path) -> None:
    root = _processed(tmp_path, SAMPLES_DIR / "release_notes", "*.sample.md")

    unknown = run_cli(root, "search", "--area", "no-such-area")
    reversed_range = run_cli(root, "search", "--since", "146", "--until", "140")

    assert (unknown.returncode, reversed_range.returncode) == (2, 2)
    assert "no-such-area" in unknown.stderr
    assert "since (146) is after until (140)" in reversed_range.stderr
    assert unknown.stdout == reversed_range.stdout == ""


def test_what_changed_in_css_since_140_on_the_real_corpus(tmp_path: Path, corpus_dir: Path) -> None:
    root = _processed(tmp_path, corpus_dir, "*.md")

    found = run_cli(root, "search", "--area", "css", "--since", "140", "--limit", "500", "--json")

    result = json.loads(found.stdout)
    features = result["features"]
    assert result["total"] == len(features) > 20
    assert {f["area"] for f in features} == {"css"}
    assert min(f["version"] for f in features) >= 140
    assert max(f["version"] for f in features) == 144
    assert all(f["chromestatus"].startswith("https://chromestatus.com/") for f in features[:10])
