"""Batch commands import only what they use: each runs in a fresh interpreter, which then
reports the heavy modules it loaded. A module creeping back onto a command's path fails here."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES_DIR

# every test starts interpreters of its own
pytestmark = pytest.mark.slow

#: never needed by a batch command: the server, its transport and the rendering libraries
SERVER_ONLY = ("fastmcp", "mcp", "httpx", "starlette", "uvicorn", "prometheus_client")
RENDERING = ("jinja2", "markdown_it")
#: what an unchanged ``process`` or ``pages`` answers without: its stamp says nothing changed
FAST_PATH_FREE = (
    *SERVER_ONLY,
    *RENDERING,
    "pydantic",
    "pydantic_settings",
    "rich",
    "anyio",
    "psutil",
    "filelock",
    "yaml",
)

# Runs the CLI in this interpreter, then writes the names of the loaded top-level packages.
_PROBE = """
import json, sys
from webplatform_digest.cli import main
try:
    code = main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted({n.split(".")[0] for n in sys.modules})}, out)
"""


def _loaded(root: Path, *args: str) -> set[str]:
    report = root / "import-set.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBPLATFORM_")}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(report), *args],
        capture_output=True,
        text=True,
        env=env | {"WEBPLATFORM_ROOT": str(root), "NO_COLOR": "1"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(report.read_text(encoding="utf-8"))
    assert result["code"] in (0, None), done.stderr
    return set(result["modules"])


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace with the bundled Chrome 145 notes, processed once."""
    notes = tmp_path / "release_notes"
    notes.mkdir()
    for name in ("chrome-145.sample.md", "webgpu-145.sample.md"):
        shutil.copy(SAMPLES_DIR / "release_notes" / name, notes / name.replace(".sample", ""))
    _loaded(tmp_path, "process", "--version", "145", "--json")
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("process", "--version", "145", "--json"),
        ("areas", "--json"),
        ("runs", "--json"),
        ("telemetry", "summary", "--json"),
    ],
    ids=lambda args: " ".join(args),
)
def test_a_batch_command_loads_neither_the_server_nor_the_renderers(
    root: Path, args: tuple[str, ...]
) -> None:
    """No fastmcp, HTTP client, metrics registry, Jinja or markdown parser on these paths."""
    assert _loaded(root, *args) & {*SERVER_ONLY, *RENDERING} == set()


def test_help_loads_no_settings_validation(root: Path) -> None:
    """``--help`` reads no settings, so pydantic stays out of it."""
    assert {"pydantic", "pydantic_settings", "anyio"} & _loaded(root, "--help") == set()


def test_help_and_json_output_load_no_terminal_tables(root: Path) -> None:
    """``rich`` is for the human tables only: ``--help`` and ``--json`` output never load it."""
    assert "rich" not in _loaded(root, "--help")
    assert "rich" not in _loaded(root, "process", "--version", "145", "--json")
    assert "rich" not in _loaded(root, "areas", "--json")


def test_pages_without_the_preview_loads_neither_the_server_nor_the_renderers(
    root: Path,
) -> None:
    """``pages`` on an unchanged site writes Jekyll markdown only: no Jinja or markdown-it
    (they are for ``--html``), and never fastmcp, httpx or the metrics registry."""
    assert _loaded(root, "run", "--version", "145", "--llm", "offline", "--json")
    assert _loaded(root, "pages", "--json")
    assert _loaded(root, "pages", "--json") & {*SERVER_ONLY, *RENDERING} == set()


@pytest.mark.parametrize("output", [(), ("--json",)], ids=["text", "json"])
def test_an_unchanged_process_loads_no_settings_validation_pipeline_or_tables(
    root: Path, output: tuple[str, ...]
) -> None:
    """Answered from its stamp: no pydantic, anyio, rich, psutil, parser or server."""
    loaded = _loaded(root, "process", "--version", "145", *output)
    assert loaded & set(FAST_PATH_FREE) == set()


@pytest.mark.parametrize("output", [(), ("--json",)], ids=["text", "json"])
def test_an_unchanged_site_loads_no_settings_validation_renderers_or_tables(
    root: Path, output: tuple[str, ...]
) -> None:
    """``pages`` on a site generated from the same digests answers from its stamp."""
    assert _loaded(root, "run", "--version", "145", "--llm", "offline", "--json")
    assert _loaded(root, "pages", "--json")
    assert _loaded(root, "pages", *output) & set(FAST_PATH_FREE) == set()


@pytest.mark.parametrize(
    "args",
    [("areas", "--json"), ("runs", "--json"), ("telemetry", "summary", "--json")],
    ids=lambda args: " ".join(args),
)
def test_commands_that_read_only_the_root_load_no_settings_validation_or_event_loop(
    root: Path, args: tuple[str, ...]
) -> None:
    """On the light settings, with no container: no pydantic, no anyio, no write queue."""
    loaded = _loaded(root, *args)
    assert loaded & {"pydantic", "pydantic_settings", "anyio", "filelock", "rich"} == set()
