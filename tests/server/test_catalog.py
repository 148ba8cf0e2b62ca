"""The one list of tools: what is registered, labelled in metrics and documented."""

from pathlib import Path

import pytest
from fastmcp import Client, FastMCP

from tests.server_support import make_server
from webplatform_digest.server.app import INSTRUCTIONS
from webplatform_digest.server.catalog import TOOL_NAMES, TOOLS, register_tool
from webplatform_digest.telemetry import labels


async def test_the_server_registers_exactly_the_catalogued_tools_with_their_hints(
    tmp_path: Path,
) -> None:
    """tools/list names every catalogued tool once, with the catalogue's annotations."""
    server, _ = make_server(tmp_path)
    async with Client(server) as client:
        listed = await client.list_tools()
    assert sorted(t.name for t in listed) == sorted(TOOL_NAMES)
    hints = {t.name: t.annotations for t in listed}
    assert all(hints[spec.name] == spec.annotations for spec in TOOLS)


def test_an_uncatalogued_tool_cannot_be_registered() -> None:
    """A new tool has to be added to the catalogue (and so to the docs and metrics) first."""
    with pytest.raises(KeyError):
        register_tool(FastMCP("test"), "not_in_the_catalogue")


def test_the_metric_labels_cover_every_catalogued_tool() -> None:
    """The tool label set is the catalogue; a tool outside it would be counted as ``other``."""
    assert labels.TOOLS == TOOL_NAMES


def test_the_typical_flow_in_the_instructions_names_catalogued_tools() -> None:
    """The server instructions clients show their model only name tools that exist."""
    flow = INSTRUCTIONS.split("Typical flow:")[1]
    named = [step.strip(" .") for step in flow.split("→")]
    assert len(named) == 5
    assert [n for n in named if n not in TOOL_NAMES] == []
