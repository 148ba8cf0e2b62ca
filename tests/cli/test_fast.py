"""Unchanged ``process`` and ``pages`` runs answered from their stamps: the same output as the
full path, and the full path at the first doubt."""

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES_DIR
from tests.site_samples import write_sample_digests
from webplatform_digest.cli import build_parser, main
from webplatform_digest.cli.fast import fast_pages, fast_process
from webplatform_digest.storage.stamps import PAGES_STAMP
from webplatform_digest.storage.workspace import Workspace

PROCESS = ("process", "--version", "145")
STAMP = Path(".monitoring/stamps/chrome-145-stable.json")
#: valid for Settings and unknown to the light settings: forces the full path
FULL_PATH = ("WEBPLATFORM_LOG_LEVEL", "WARNING")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace with the bundled Chrome 145 notes, processed once (which stamps them)."""
    notes = tmp_path / "release_notes"
    notes.mkdir()
    for name in ("chrome-145.sample.md", "webgpu-145.sample.md"):
        shutil.copy(SAMPLES_DIR / "release_notes" / name, notes / name.replace(".sample", ""))
    assert main([*PROCESS, "--root", str(tmp_path)]) == 0
    return tmp_path


def _fast(root: Path, *args: str) -> int | None:
    parsed = build_parser().parse_args([*args, "--root", str(root)])
    return fast_pages(parsed) if args[0] == "pages" else fast_process(parsed)


def _output(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> str:
    capsys.readouterr()
    assert main([*args, "--root", str(root)]) == 0
    return capsys.readouterr().out


def _full_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], root: Path, *args: str
) -> str:
    with monkeypatch.context() as patched:
        patched.setenv(*FULL_PATH)
        assert _fast(root, *args) is None
        return _output(capsys, root, *args)


@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["text", "json"])
def test_an_unchanged_process_prints_exactly_what_the_full_path_prints(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    json_flag: tuple[str, ...],
) -> None:
    """Answered from the stamp, the text table and the JSON summary are the full path's bytes."""
    capsys.readouterr()
    assert _fast(root, *PROCESS, *json_flag) == 0
    fast = capsys.readouterr().out
    assert fast == _full_output(monkeypatch, capsys, root, *PROCESS, *json_flag)
    assert "0 written" in fast or '"written": []' in fast


def test_the_fast_process_records_the_command_in_the_event_log(root: Path) -> None:
    """Like the full path, an unchanged run leaves its ``ReleaseProcessed`` line in the log."""
    log = root / ".monitoring/telemetry.jsonl"
    before = log.read_text(encoding="utf-8").count('"ReleaseProcessed"')
    assert _fast(root, *PROCESS, "--json") == 0
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    processed = [line for line in lines if line["type"] == "ReleaseProcessed"]
    assert len(processed) == before + 1
    assert (processed[-1]["version"], processed[-1]["written"]) == (145, 0)
    assert processed[-1]["unchanged"] == processed[-2]["written"] > 0


def test_a_changed_note_takes_the_full_path_and_writes_the_new_data(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One more byte in the note: no answer from the stamp, and the files are rewritten."""
    before = json.loads(_output(capsys, root, *PROCESS, "--json"))
    note = root / "release_notes/chrome-145.md"
    note.write_bytes(note.read_bytes() + b"\n")
    assert _fast(root, *PROCESS) is None
    after = json.loads(_output(capsys, root, *PROCESS, "--json"))
    assert after["source_hash"] != before["source_hash"]
    assert sorted(after["written"]) == sorted(before["unchanged"])
    assert _fast(root, *PROCESS) == 0


def test_a_changed_focus_area_file_takes_the_full_path(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A workspace focus-area file (here one that changes nothing) is an input: full path once,
    then the fresh stamp answers again."""
    (root / "focus_areas").mkdir()
    (root / "focus_areas" / "extra.yaml").write_text(
        "id: extensions\nname: Extensions\nname_zh: 扩展\ndescription: Extension APIs.\n",
        encoding="utf-8",
    )
    assert _fast(root, *PROCESS) is None
    summary = json.loads(_output(capsys, root, *PROCESS, "--json"))
    assert summary["written"] == []
    assert summary["unchanged"]
    assert _fast(root, *PROCESS) == 0


def test_an_edited_or_missing_output_file_takes_the_full_path(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The full path would rewrite an output a user touched, so the stamp does not answer."""
    output = root / "processed/areas/css/chrome-145-stable.yml"
    output.unlink()
    assert _fast(root, *PROCESS) is None
    summary = json.loads(_output(capsys, root, *PROCESS, "--json"))
    assert summary["written"] == ["processed/areas/css/chrome-145-stable.yml"]
    stray = root / "processed/areas/made-up/chrome-145-stable.yml"
    stray.parent.mkdir()
    stray.write_text("version: 145\n", encoding="utf-8")
    assert _fast(root, *PROCESS) is None


@pytest.mark.parametrize("garbage", [b"", b"{not json", b"[]", b'{"format": 1}', b'{"format": 99}'])
def test_a_corrupt_stamp_takes_the_full_path_which_writes_a_good_one(
    root: Path, capsys: pytest.CaptureFixture[str], garbage: bytes
) -> None:
    """Unreadable, foreign or incomplete stamps are ignored and replaced."""
    (root / STAMP).write_bytes(garbage)
    assert _fast(root, *PROCESS) is None
    assert json.loads(_output(capsys, root, *PROCESS, "--json"))["written"] == []
    assert json.loads((root / STAMP).read_bytes())["command"] == "process"
    assert _fast(root, *PROCESS) == 0


def test_a_variable_the_light_settings_do_not_know_takes_the_full_path(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A valid but unknown variable: full path, same output; an accepted one keeps it fast."""
    monkeypatch.setenv("WEBPLATFORM_MAX_CONCURRENCY", "7")
    assert _fast(root, *PROCESS) is None
    assert json.loads(_output(capsys, root, *PROCESS, "--json"))["written"] == []
    monkeypatch.delenv("WEBPLATFORM_MAX_CONCURRENCY")
    monkeypatch.setenv("WEBPLATFORM_LLM_BACKEND", "offline")
    assert _fast(root, *PROCESS) == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [("WEBPLATFORM_LLM_BACKEND", "bogus"), ("WEBPLATFORM_MAX_CONCURRENCY", "many")],
)
def test_an_invalid_variable_is_still_todays_one_line_error(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
) -> None:
    """A stamp never hides a configuration error: exit 2 and one line naming the variable."""
    monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert main([*PROCESS, "--root", str(root)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.fullmatch(rf"webplatform-digest: invalid configuration: {name}: .*\n", captured.err)


def test_flags_the_fast_path_does_not_handle_take_the_full_path(root: Path) -> None:
    """``--all``, ``--range``, ``-v``, another channel or a spelling like ``0145``."""
    assert _fast(root, "process", "--all") is None
    assert _fast(root, "process", "--range", "145-145") is None
    assert _fast(root, *PROCESS, "-v") is None
    assert _fast(root, *PROCESS, "--channel", "beta") is None
    assert _fast(root, "process", "--version", "0145") is None


@pytest.mark.parametrize(
    "args",
    [("areas",), ("areas", "--json"), ("runs", "--json"), ("telemetry", "summary", "--json")],
    ids=lambda args: " ".join(args),
)
def test_root_only_commands_print_the_same_on_light_and_full_settings(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
) -> None:
    """``areas``, ``runs`` and ``telemetry summary`` answer alike with or without pydantic."""
    assert main(["run", "--version", "145", "--llm", "offline", "-q", "--root", str(root)]) == 0
    light = _output(capsys, root, *args)
    with monkeypatch.context() as patched:
        patched.setenv(*FULL_PATH)
        assert _output(capsys, root, *args) == light
    assert light.strip()


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A workspace with sample digests and its site generated once (which stamps it)."""
    workspace = Workspace.at(tmp_path)
    write_sample_digests(workspace)
    assert main(["pages", "--root", str(tmp_path)]) == 0
    capsys.readouterr()
    return tmp_path


def _timeless(report: str) -> str:
    """A pages report without its wall time (two runs never take the same time)."""
    report = re.sub(r" in \d+\.\d\d s$", " in T s", report, flags=re.MULTILINE)
    return re.sub(r'"wall_seconds": [0-9.e-]+', '"wall_seconds": T', report)


@pytest.mark.parametrize("json_flag", [(), ("--json",)], ids=["text", "json"])
def test_an_unchanged_site_prints_what_the_full_path_prints(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    json_flag: tuple[str, ...],
) -> None:
    """Answered from the stamp, the report is the full path's but for the wall time."""
    assert _fast(site, "pages", *json_flag) == 0
    fast = capsys.readouterr().out
    full = _full_output(monkeypatch, capsys, site, "pages", *json_flag)
    assert _timeless(fast) == _timeless(full)
    assert "Nothing changed" in fast or '"written": 0' in fast


def test_a_changed_digest_or_page_takes_the_full_path(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An edited digest (an input) or a deleted page (an output) is regenerated in full."""
    digest = next((site / "digest_markdown/areas/css").glob("chrome-*-en.md"))
    digest.write_text(digest.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    assert _fast(site, "pages") is None
    assert json.loads(_output(capsys, site, "pages", "--json"))["written"] > 0
    assert _fast(site, "pages") == 0
    (site / "digest_markdown/index.md").unlink()
    assert _fast(site, "pages") is None
    assert json.loads(_output(capsys, site, "pages", "--json"))["written"] == 1


def test_a_site_stamp_answers_only_the_request_it_was_written_for(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--html``, ``--version`` and ``--language`` each need their own full run first."""
    assert _fast(site, "pages", "--html") is None
    assert _fast(site, "pages", "--version", "144") is None
    assert _fast(site, "pages", "--language", "en") is None
    _output(capsys, site, "pages", "--html")
    assert _fast(site, "pages", "--html") == 0
    assert _fast(site, "pages") is None


def test_the_site_stamp_is_neither_a_page_nor_counted(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stamp is local state, outside the published site, and never in the manifest."""
    assert (site / PAGES_STAMP).is_file()
    assert not any(site.glob("digest_markdown/**/*stamp*"))
    manifest = json.loads((site / "digest_markdown/.pages-manifest.json").read_bytes())
    assert str(PAGES_STAMP) not in manifest["files"]
    (site / PAGES_STAMP).unlink()
    summary = json.loads(_output(capsys, site, "pages", "--json"))
    assert (summary["written"], summary["unchanged"]) == (0, len(manifest["files"]) + 1)
