"""Tool arguments as a client meets them: refused in plain words."""

from pathlib import Path

import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError

from tests.server_support import make_server


async def test_a_boolean_version_is_refused_rather_than_read_as_1(tmp_path: Path) -> None:
    """``version: true`` is not milestone 1; nothing is processed."""
    server, _ = make_server(tmp_path)
    async with Client(server) as client:
        with pytest.raises(ToolError) as refused:
            await client.call_tool("process_release_notes", {"version": True})
    assert "not true or false" in str(refused.value)
    assert "errors.pydantic.dev" not in str(refused.value)
    assert not (tmp_path / "processed").exists()
