"""Start-up loads what ``initialize`` and ``tools/list`` need, and tool bodies load on first use.

The server is built as ``serve`` builds it in a fresh interpreter, which then reports what it
has imported: a heavy module creeping back onto the start-up path fails here.
"""

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.server_process import clean_env
from webplatform_digest.server.lazy import load

#: builds the server as ``serve`` does, then prints the names of the loaded modules
_PROBE = """
import json, sys
from webplatform_digest.container import Container
from webplatform_digest.server.app import build_server
from webplatform_digest.settings import load_settings

build_server(Container(load_settings()), metrics_sidecar=True)
json.dump(sorted(sys.modules), sys.stdout)
"""

#: what tool calls need and answering ``initialize`` and ``tools/list`` does not
TOOL_IMPLEMENTATIONS = (
    "webplatform_digest.services",
    "webplatform_digest.digest.machine",
    "webplatform_digest.digest.prompts",
    "webplatform_digest.site",
    "webplatform_digest.runs",
    "webplatform_digest.llm",
    "webplatform_digest.monitor",
    "webplatform_digest.areas",
    "webplatform_digest.storage.queue",
    "webplatform_digest.storage.area_store",
    "webplatform_digest.telemetry.prometheus",
    "webplatform_digest.telemetry.report",
    "httpx",
    "prometheus_client",
    "psutil",
    "yaml",
    "sqlite3",
    "filelock",
    "jinja2",
    "markdown_it",
    "griffe",  # fastmcp's docstring parser: tool docstrings are handed over as they stand
)


def _loaded_at_start(root: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        env=clean_env({"WEBPLATFORM_ROOT": str(root)}),
        timeout=60,
        check=True,
    )
    return set(json.loads(done.stdout))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(
        name
        for name in modules
        if any(name == heavy or name.startswith(heavy + ".") for heavy in TOOL_IMPLEMENTATIONS)
    )


@pytest.mark.slow
def test_a_server_built_as_serve_builds_it_has_loaded_no_tool_implementation(
    tmp_path: Path,
) -> None:
    """No service, digest machine, renderer, HTTP client, metric or run registry, YAML or
    SQLite before the first call; fastmcp's first-request path is already loaded."""
    loaded = _loaded_at_start(tmp_path)
    assert _heavy(loaded) == []
    assert {"webplatform_digest.server.app", "key_value.aio.stores.memory"} <= loaded


@pytest.mark.slow
def test_a_workspace_catalogue_is_checked_before_the_server_serves(tmp_path: Path) -> None:
    """With a ``focus_areas/`` of its own the catalogue is compiled at start (a malformed file
    must stop the server before it serves), and still nothing else is."""
    (tmp_path / "focus_areas").mkdir()
    loaded = _loaded_at_start(tmp_path)
    assert "webplatform_digest.areas.classify" in loaded
    catalogue = ("webplatform_digest.areas", "webplatform_digest.storage.area_store", "yaml")
    assert [name for name in _heavy(loaded) if not name.startswith(catalogue)] == []


async def test_a_module_is_imported_in_a_worker_thread_and_once(tmp_path: Path) -> None:
    """``load`` runs the import off the event loop; a loaded module is not imported again."""
    module = tmp_path / "lazily_loaded_probe.py"
    module.write_text(
        "import threading\nIMPORTED_IN = threading.current_thread()\nCOUNT = [1]\n",
        encoding="utf-8",
    )
    sys.path.insert(0, str(tmp_path))
    try:
        await load("lazily_loaded_probe")
        await load("lazily_loaded_probe")
        probe = sys.modules["lazily_loaded_probe"]
        assert probe.IMPORTED_IN is not threading.main_thread()
        assert probe.COUNT == [1]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("lazily_loaded_probe", None)
