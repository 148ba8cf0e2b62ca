"""A real stdio subprocess (``python fast_mcp_server.py``) driven by the official ``mcp`` client."""

import socket
from pathlib import Path

import anyio
import httpx
import psutil
import pytest
from mcp.shared.exceptions import MCPError

from tests.server_process import shim_processes, stdio_session
from tests.server_support import seed_samples, structured_result, text_of
from webplatform_digest.server.catalog import TOOL_NAMES


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.e2e
async def test_stdio_server_answers_the_official_client_and_exits_when_it_closes(
    tmp_path: Path,
) -> None:
    """initialize, list tools, read a resource, call a tool, scrape the side port; then the
    server exits by itself once stdin closes (lifespan teardown logged, no lingering process)."""
    seed_samples(tmp_path)
    port = _free_port()
    env = {
        "WEBPLATFORM_ROOT": str(tmp_path),
        "WEBPLATFORM_METRICS_PORT": str(port),
        "WEBPLATFORM_LOG_LEVEL": "INFO",
    }
    errlog = tmp_path / "stderr.log"
    with errlog.open("w", encoding="utf-8") as err:
        async with stdio_session(env, err) as session:
            with anyio.fail_after(30):
                init = await session.initialize()
                tools = await session.list_tools()
                catalog = await session.read_resource("focus-areas://catalog")
                result = await session.call_tool("process_release_notes", {"version": 145})
                async with httpx.AsyncClient() as http:
                    scrape = await http.get(f"http://127.0.0.1:{port}/metrics")
            running = shim_processes()
            assert running, "the server subprocess is not running"
        _, alive = await anyio.to_thread.run_sync(lambda: psutil.wait_procs(running, timeout=10))
    assert alive == []
    assert init.server_info.name == "webplatform-digest"
    schemas = {t.name: t.output_schema for t in tools.tools}
    assert sorted(schemas) == sorted(TOOL_NAMES)
    assert all(schema is not None for schema in schemas.values())
    assert '"css"' in text_of(catalog.contents[0])
    assert not result.is_error
    text = text_of(result.content[0])
    processed = structured_result(schemas["process_release_notes"], result.structured_content, text)
    assert processed["version"] == 145
    assert scrape.status_code == 200
    assert 'webplatform_digest_tool_calls_total{outcome="ok",tool="process_release_notes"}' in (
        scrape.text
    )
    log = errlog.read_text(encoding="utf-8")
    assert "server stopped cleanly" in log
    assert (tmp_path / "processed" / "areas" / "css" / "chrome-145-stable.yml").is_file()


@pytest.mark.e2e
async def test_resource_errors_reach_the_client_without_a_traceback_on_stderr(
    tmp_path: Path,
) -> None:
    """A missing note and one over the size cap are resource errors; stderr stays clean."""
    notes = tmp_path / "release_notes"
    notes.mkdir()
    (notes / "chrome-150.md").write_bytes(b"# Chrome 150\n" + b"x" * 4096)
    env = {"WEBPLATFORM_ROOT": str(tmp_path), "WEBPLATFORM_FETCH_MAX_BYTES": "1024"}
    errlog = tmp_path / "stderr.log"
    refusals: list[str] = []
    with errlog.open("w", encoding="utf-8") as err:
        async with stdio_session(env, err) as session:
            with anyio.fail_after(30):
                await session.initialize()
                for uri in ("release-notes://151", "release-notes://150"):
                    with pytest.raises(MCPError) as refused:
                        await session.read_resource(uri)
                    refusals.append(str(refused.value))
    assert "not found" in refusals[0]
    assert "is 4,109 bytes, over the 1,024-byte cap (WEBPLATFORM_FETCH_MAX_BYTES)" in refusals[1]
    assert "Traceback" not in errlog.read_text(encoding="utf-8")


def _imports_logged(errlog: Path) -> list[str]:
    """The modules Python logged as imported so far, in order."""
    text = errlog.read_text(encoding="utf-8")
    return [line.rsplit("|", 1)[1].strip() for line in text.splitlines() if "import time:" in line]


@pytest.mark.e2e
async def test_the_first_tools_list_imports_nothing_the_start_up_could_have(
    tmp_path: Path,
) -> None:
    """The server answers its first ``tools/list`` with everything already loaded: Python
    logs each import to stderr, and none is logged between initialize and that answer (the
    container is not warmed before a call needs it)."""
    env = {"WEBPLATFORM_ROOT": str(tmp_path), "PYTHONPROFILEIMPORTTIME": "1"}
    errlog = tmp_path / "stderr.log"
    with errlog.open("w", encoding="utf-8") as err:
        async with stdio_session(env, err) as session:
            with anyio.fail_after(30):
                await session.initialize()
                before = len(_imports_logged(errlog))
                tools = await session.list_tools()
                between = _imports_logged(errlog)[before:]
    assert {tool.name for tool in tools.tools} == set(TOOL_NAMES)
    assert before > 100
    assert between == []
