"""The search_features tool and the features://index resource over the MCP protocol."""

import re
from pathlib import Path

import orjson
import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError

from tests.server_support import SAMPLE_VERSION, make_server, seed_samples, structured, text_of


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace holding the bundled sample release notes."""
    seed_samples(tmp_path)
    return tmp_path


async def test_search_answers_what_changed_in_an_area_since_a_milestone(root: Path) -> None:
    server, _ = make_server(root)
    async with Client(server) as client:
        await client.call_tool("process_release_notes", {"all": True})
        found = await client.call_tool("search_features", {"area": "css", "since": SAMPLE_VERSION})
        worded = await client.call_tool("search_features", {"query": "TEXT-WRAP-style"})

    result = structured(found.structured_content)
    assert result["total"] >= 3
    assert {f["area"] for f in result["features"]} == {"css"}
    assert all(f["version"] >= SAMPLE_VERSION for f in result["features"])
    first = result["features"][0]
    assert first["digest_page"] == f"versions/{_slug(first)}/css.html"
    titles = [f["title"] for f in structured(worded.structured_content)["features"]]
    assert titles
    assert all("text-wrap-style" in t for t in titles)


async def test_the_output_schema_describes_the_result(root: Path) -> None:
    server, _ = make_server(root)
    async with Client(server) as client:
        tools = {tool.name: tool for tool in await client.list_tools()}

    schema = tools["search_features"].output_schema
    assert schema is not None
    assert {"total", "features"} <= set(schema["properties"])
    assert tools["search_features"].annotations is not None
    assert tools["search_features"].annotations.read_only_hint is True


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"area": "no-such-area"}, "no-such-area"),
        ({"since": 144, "until": 140}, "since (144) is after until (140)"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"since": 1000}, "since"),
    ],
)
async def test_bad_arguments_are_clear_errors(
    root: Path, arguments: dict[str, object], expected: str
) -> None:
    server, _ = make_server(root)
    async with Client(server) as client:
        with pytest.raises(ToolError, match=re.escape(expected)):
            await client.call_tool("search_features", arguments)


async def test_the_index_resource_serves_every_processed_feature(root: Path) -> None:
    server, _ = make_server(root)
    async with Client(server) as client:
        await client.call_tool("process_release_notes", {"all": True})
        index = orjson.loads(text_of((await client.read_resource("features://index"))[0]))

    assert index["schema"] == 1
    paths = [file["path"] for file in index["files"]]
    assert f"processed/areas/css/chrome-{SAMPLE_VERSION}-stable.yml" in paths
    assert (root / "processed" / "feature-index.json").is_file()


def _slug(feature: dict[str, object]) -> str:
    suffix = "-beta" if feature["channel"] == "beta" else ""
    return f"chrome-{feature['version']}{suffix}"
