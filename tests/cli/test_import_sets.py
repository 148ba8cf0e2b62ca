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


#: what ``--help`` answers without: it reads no settings and prints no table
HELP_FREE = frozenset({"pydantic", "pydantic_settings", "anyio", "rich"})
#: what a command reading only the root answers without: on the light settings, with no
#: container, no event loop, no write queue; ``--json`` prints no table
ROOT_ONLY_FREE = frozenset({"pydantic", "pydantic_settings", "anyio", "filelock", "rich"})


@pytest.mark.parametrize(
    ("args", "also_absent"),
    [
        pytest.param(args, absent, id=" ".join(args))
        for args, absent in (
            (("--help",), HELP_FREE),
            # the fixture processed 145: answered from its stamp
            (("process", "--version", "145", "--json"), frozenset(FAST_PATH_FREE)),
            (("areas", "--json"), ROOT_ONLY_FREE),
            (("runs", "--json"), ROOT_ONLY_FREE),
            (("telemetry", "summary", "--json"), ROOT_ONLY_FREE),
        )
    ],
)
def test_a_batch_command_loads_only_what_it_uses(
    root: Path, args: tuple[str, ...], also_absent: frozenset[str]
) -> None:
    """No fastmcp, HTTP client, metrics registry, Jinja or markdown parser on any of these
    paths, and nothing of ``also_absent`` (settings validation, the event loop, tables)."""
    assert _loaded(root, *args) & {*SERVER_ONLY, *RENDERING, *also_absent} == set()


def test_an_unchanged_process_loads_no_settings_validation_pipeline_or_tables(root: Path) -> None:
    """Answered from its stamp: no pydantic, anyio, rich, psutil, parser or server (the
    ``--json`` form is a case of the test above)."""
    loaded = _loaded(root, "process", "--version", "145")
    assert loaded & set(FAST_PATH_FREE) == set()


@pytest.mark.parametrize("output", [(), ("--json",)], ids=["text", "json"])
def test_an_unchanged_site_loads_no_settings_validation_renderers_or_tables(
    root: Path, output: tuple[str, ...]
) -> None:
    """``pages`` without the preview writes Jekyll markdown only: no Jinja or markdown-it (they
    are for ``--html``), never fastmcp, httpx or the metrics registry; on a site generated
    from the same digests it answers from its stamp."""
    assert _loaded(root, "run", "--version", "145", "--llm", "offline", "--json")
    assert _loaded(root, "pages", "--json") & {*SERVER_ONLY, *RENDERING} == set()
    assert _loaded(root, "pages", *output) & set(FAST_PATH_FREE) == set()
