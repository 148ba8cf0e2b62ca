"""Interoperability with a client we did not write: the MCP Inspector CLI (npm), both eras."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import REPO_ROOT, REQUIRE_E2E
from tests.server_process import running_server, shim_command
from tests.server_support import seed_samples, structured_result
from webplatform_digest.server.catalog import TOOL_NAMES

INSPECTOR = REPO_ROOT / "node" / "node_modules" / ".bin" / "mcp-inspector"


@pytest.fixture
def inspector() -> list[str]:
    """The Inspector CLI command prefix (installed by .ci/run into ./node)."""
    if not INSPECTOR.exists():
        message = f"MCP Inspector not installed at {INSPECTOR} (npm install --prefix ./node ...)"
        if REQUIRE_E2E:
            pytest.fail(message)
        pytest.skip(message)
    return [str(INSPECTOR), "--cli", "-q", "--format", "json"]


def _run(command: list[str], root: Path, timeout: float = 60) -> dict[str, Any]:
    home = root / "home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "WEBPLATFORM_ROOT": str(root),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    assert done.returncode == 0, done.stderr + done.stdout
    answer = orjson.loads(done.stdout)
    return answer.get("result", answer)


def _checked(listed: dict[str, Any], name: str, result: dict[str, Any]) -> dict[str, Any]:
    """The call's structured content, checked against the tool's listed output schema."""
    tools = listed["tools"]
    assert isinstance(tools, list)
    schema = next(t["outputSchema"] for t in tools if t["name"] == name)
    content = result["content"]
    assert isinstance(content, list)
    return structured_result(schema, result.get("structuredContent"), content[0]["text"])


@pytest.mark.e2e
@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_inspector_lists_and_calls_tools_over_stdio(
    inspector: list[str], tmp_path: Path, era: str
) -> None:
    """tools/list, then a digest run: no hang although the Inspector cannot sample."""
    seed_samples(tmp_path)
    stdio = ["-e", f"WEBPLATFORM_ROOT={tmp_path}", *shim_command()]
    era_flag = ["--protocol-era", era]
    listed = _run([*inspector, *era_flag, *stdio, "--method", "tools/list"], tmp_path)
    call = [*inspector, *era_flag, *stdio, "--method", "tools/call", "--tool-name"]
    _run([*call, "process_release_notes", "--tool-arg", "version=145"], tmp_path)
    digest = _run(
        [*call, "webplatform_digest", "--tool-arg", "version=145", "language=en"],
        tmp_path,
        timeout=90,
    )
    names = {tool["name"] for tool in listed["tools"]}
    assert sorted(names) == sorted(TOOL_NAMES)
    summary = _checked(listed, "webplatform_digest", digest)
    assert summary["backend"] == "offline"
    assert summary["status"] == "completed"


@pytest.mark.e2e
@pytest.mark.parametrize("era", ["legacy", "modern"])
def test_inspector_talks_to_the_http_endpoint(
    inspector: list[str], tmp_path: Path, era: str
) -> None:
    """The Inspector lists tools and calls one over streamable HTTP."""
    seed_samples(tmp_path)
    with running_server(tmp_path, {}) as server:
        url = [server.mcp_url, "--transport", "http", "--protocol-era", era]
        listed = _run([*inspector, *url, "--method", "tools/list"], tmp_path)
        areas = _run(
            [*inspector, *url, "--method", "tools/call", "--tool-name", "list_focus_areas"],
            tmp_path,
        )
    assert "list_focus_areas" in {t["name"] for t in listed["tools"]}
    assert "css" in {a["id"] for a in _checked(listed, "list_focus_areas", areas)["areas"]}
