"""``webplatform-digest pages``: the site from the shell, human and JSON output, errors."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.site_samples import write_sample_digests
from webplatform_digest.cli import main
from webplatform_digest.models import ReleaseKey
from webplatform_digest.storage.workspace import Workspace


def test_pages_prints_a_json_summary_and_an_unchanged_rerun_writes_nothing(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--json`` gives the summary keys; the second run reports zero files written."""
    write_sample_digests(workspace)
    root = str(workspace.root)
    assert main(["pages", "--root", root, "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(["pages", "--root", root, "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert {"pages", "written", "unchanged", "removed", "wall_seconds"} <= set(first)
    assert first["written"] > 0
    assert (second["written"], second["removed"]) == (0, 0)
    assert second["unchanged"] == first["written"]


def test_pages_names_catalogue_areas_and_says_when_nothing_changed(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """Area names come from the shipped catalogue; the human report says nothing changed."""
    write_sample_digests(workspace, areas=["css"])
    main(["pages", "--root", str(workspace.root)])
    capsys.readouterr()
    assert main(["pages", "--root", str(workspace.root)]) == 0
    out = capsys.readouterr().out
    assert "Nothing changed: no files were written." in out
    home = (workspace.root / "digest_markdown/zh/index.md").read_text(encoding="utf-8")
    assert "CSS 与界面" in home


def test_pages_html_prints_the_preview_location(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--html`` writes site/ and prints a file:// URL to open."""
    write_sample_digests(workspace, releases=[ReleaseKey(144)])
    assert main(["pages", "--root", str(workspace.root), "--html"]) == 0
    out = capsys.readouterr().out
    assert (workspace.root / "site/index.html").as_uri() in out
    assert (workspace.root / "site/zh/index.html").is_file()


def test_pages_html_preview_can_be_switched_on_by_setting(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``WEBPLATFORM_HTML_PREVIEW=1`` renders the preview without the flag."""
    write_sample_digests(workspace, releases=[ReleaseKey(144)])
    monkeypatch.setenv("WEBPLATFORM_HTML_PREVIEW", "1")
    assert main(["pages", "--root", str(workspace.root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["preview"] == "site/index.html"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--version", "99"], 2, "no digests of Chrome 99"),
        (["--version", "abc"], 2, "milestone"),
    ],
)
def test_pages_errors_are_one_clear_line(
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: int,
    message: str,
) -> None:
    """Bad versions exit 2 with one line on stderr and nothing on stdout."""
    write_sample_digests(workspace, releases=[ReleaseKey(144)])
    assert main(["pages", "--root", str(workspace.root), *args]) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.count("\n") == 1


def test_pages_on_an_empty_workspace_explains_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No digests: exit 2 and a pointer to ``webplatform-digest run``."""
    assert main(["pages", "--root", str(tmp_path)]) == 2
    assert "webplatform-digest run" in capsys.readouterr().err


@pytest.mark.slow
def test_the_pages_command_does_not_import_fastmcp() -> None:
    """The batch CLI stays light: running the pages command module pulls in no fastmcp."""
    code = (
        "import sys, webplatform_digest.cli.pages, webplatform_digest.services.pages; "
        "sys.exit(1 if 'fastmcp' in sys.modules else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=False)
    assert result.returncode == 0
