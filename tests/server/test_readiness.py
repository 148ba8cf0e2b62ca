"""The container is built by the first call that needs it, shared by sessions, and stopped by
the last one to end."""

from pathlib import Path

import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError
from mcp.shared.exceptions import MCPError

from tests.server_support import SAMPLE_VERSION, make_server, seed_samples
from webplatform_digest.errors import WebplatformError
from webplatform_digest.server.readiness import Readiness

REGISTRY = Path(".monitoring") / "runs.sqlite3"


async def test_listing_builds_nothing_and_the_first_call_builds_the_container(
    tmp_path: Path,
) -> None:
    """``tools/list`` leaves the workspace untouched (no run registry); a call opens it."""
    server, _ = make_server(tmp_path)
    async with Client(server) as client:
        await client.list_tools()
        await client.list_prompts()
        assert not (tmp_path / REGISTRY).exists()
        areas = await client.call_tool("list_focus_areas", {})
        assert areas.structured_content is not None
        assert (tmp_path / REGISTRY).is_file()


async def test_a_warm_up_failure_is_the_answer_of_every_call_and_read(tmp_path: Path) -> None:
    """A focus-area file broken after start-up is named by each tool call and resource read,
    and the session still ends cleanly."""
    server, _ = make_server(tmp_path)
    (tmp_path / "focus_areas").mkdir()
    (tmp_path / "focus_areas" / "bad.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    async with Client(server) as client:
        for _ in range(2):
            with pytest.raises(ToolError, match=r"focus_areas/bad\.yaml"):
                await client.call_tool("list_focus_areas", {})
        with pytest.raises(MCPError, match=r"focus_areas/bad\.yaml"):
            await client.read_resource("focus-areas://catalog")


async def test_sessions_share_the_container_and_the_last_one_stops_it(tmp_path: Path) -> None:
    """A second session keeps working after the first ends; after both, the write queue is
    stopped."""
    seed_samples(tmp_path)
    server, container = make_server(tmp_path)
    args = {"version": SAMPLE_VERSION}
    async with Client(server) as second:
        async with Client(server) as first:
            await first.call_tool("process_release_notes", args)
        processed = await second.call_tool("process_release_notes", args)
        assert processed.structured_content is not None
    with pytest.raises(WebplatformError, match="not running"):
        _ = container.write_queue


async def test_waiting_outside_any_session_is_refused(tmp_path: Path) -> None:
    """No session, no warm-up: a request that somehow arrives is told the server is not
    running rather than building a container nobody will stop."""
    _, container = make_server(tmp_path)
    with pytest.raises(WebplatformError, match="not running"):
        await Readiness(container).wait()


async def test_a_registry_that_cannot_be_opened_is_the_first_calls_error(tmp_path: Path) -> None:
    """The server lists its tools without the run registry; the first call names the path."""
    # a folder where the database goes, in a workspace that can otherwise be written
    (tmp_path / ".monitoring" / "runs.sqlite3").mkdir(parents=True)
    server, _ = make_server(tmp_path)
    async with Client(server) as client:
        assert await client.list_tools()
        with pytest.raises(ToolError, match="run registry"):
            await client.call_tool("list_focus_areas", {})
