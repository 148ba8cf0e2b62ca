"""The README and docs say what the code does: settings, commands, tools, client configs."""

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastmcp import Client

from tests.conftest import REPO_ROOT
from webplatform_digest.cli import build_parser
from webplatform_digest.server.catalog import TOOL_NAMES
from webplatform_digest.settings import variable_names

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
TOOLS_DOC = (REPO_ROOT / "docs" / "tools.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_and_every_documented_variable_exists() -> None:
    """The README's configuration table and ``Settings`` list the same variables."""
    fields = set(variable_names())
    documented = set(re.findall(r"`(WEBPLATFORM_[A-Z_]+)`", README))
    documented.discard("WEBPLATFORM_REQUIRE_E2E")
    assert fields - documented == set()
    assert documented - fields == set()


def test_every_cli_subcommand_is_in_the_readme() -> None:
    """Each subcommand of ``webplatform-digest`` has a row in the command table."""
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert commands is not None
    missing = [name for name in commands if f"webplatform-digest {name}" not in README]
    assert missing == []


def test_every_catalogued_tool_is_documented_in_the_readme_and_tools_doc() -> None:
    """Each tool of the catalogue (what the server registers) has a README row and a
    docs/tools.md section, and the docs describe no tool the server lacks."""
    assert [n for n in TOOL_NAMES if f"`{n}(" not in README] == []
    assert [n for n in TOOL_NAMES if f"### `{n}(" not in TOOLS_DOC] == []
    documented = set(re.findall(r"^### `(\w+)\(", TOOLS_DOC, flags=re.MULTILINE))
    assert documented == set(TOOL_NAMES)


def test_every_make_target_the_readme_names_exists() -> None:
    """``make demo``, ``make test`` and the others are real Makefile targets."""
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z]+):", makefile, flags=re.MULTILINE))
    named = set(re.findall(r"`make ([a-z]+)`", README))
    assert {"demo", "test", "serve", "bench"} <= named
    assert named - targets == set()


def _client_configs() -> dict[str, dict[str, Any]]:
    blocks = re.findall(r"<!-- client-config: (\w+) -->\n```json\n(.*?)```", README, re.DOTALL)
    return {name: orjson.loads(body) for name, body in blocks}


def _as_fastmcp_config(name: str, config: dict[str, Any], workspace: Path) -> dict[str, Any]:
    text = orjson.dumps(config).decode()
    text = text.replace("/ABS/PATH/webplatform-digest", str(REPO_ROOT))
    text = text.replace("/ABS/PATH/my-digests", str(workspace))
    parsed = orjson.loads(text)
    servers = parsed["servers"] if name == "vscode" else parsed["mcpServers"]
    for entry in servers.values():
        entry.pop("type", None)
    return {"mcpServers": servers}


@pytest.mark.e2e
@pytest.mark.parametrize("name", ["claude", "vscode", "cursor"])
async def test_the_readme_client_configurations_start_a_working_server(
    name: str, tmp_path: Path
) -> None:
    """Each configuration snippet, with real paths filled in, launches the stdio server."""
    configs = _client_configs()
    assert set(configs) == {"claude", "vscode", "cursor"}
    config = _as_fastmcp_config(name, configs[name], tmp_path)
    async with Client(config) as client:
        tools = await client.list_tools()
        areas = await client.call_tool("list_focus_areas", {})
    assert "webplatform_digest" in {t.name for t in tools}
    assert areas.structured_content is not None
