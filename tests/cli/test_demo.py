"""``webplatform-digest demo``: the whole job on the bundled samples, in one started container."""

import json
from pathlib import Path

import pytest

from webplatform_digest.cli import main
from webplatform_digest.digest.files import parse_digest_file


def test_the_demo_writes_digests_and_a_site_and_a_rerun_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every processed release gets completed offline runs; the second demo rewrites nothing."""
    assert main(["demo", "--root", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["seeded"]) == len(report["processed"]) + 1  # WebGPU notes merge into 145
    assert {run["status"] for run in report["runs"]} == {"completed"}
    css = parse_digest_file((tmp_path / "digest_markdown/areas/css/chrome-145-zh.md").read_bytes())
    assert css.backend == "offline"
    assert (tmp_path / "site" / "index.html").is_file()
    assert main(["demo", "--root", str(tmp_path), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["seeded"], again["pages"]["written"]) == ([], 0)
    assert [run["written"] for run in again["runs"]] == [[]] * len(report["runs"])
    assert main(["demo", "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith(f"Demo workspace: {tmp_path}\n")
