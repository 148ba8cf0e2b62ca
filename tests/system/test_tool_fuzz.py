"""Schema-driven fuzzing of every tool through the in-memory client.

For each tool, hypothesis-jsonschema draws arguments from the tool's own ``inputSchema``. Every
call must end as a result valid against the tool's ``outputSchema`` or a tool error
(``isError``) carrying our message: never a protocol error, never the masked "Error calling
tool" that FastMCP substitutes for an unexpected exception, never a logged traceback. The
network tools talk to an unreachable loopback port, so no example leaves the machine.
"""

import logging
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastmcp import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from mcp.types import Tool

from tests.server_support import SAMPLE_VERSION, make_server, seed_samples, structured_result
from tests.system.support import record_figures
from webplatform_digest.server.catalog import TOOL_NAMES, TOOLS

pytestmark = pytest.mark.system

#: examples per tool; the network tools retry a refused connection, so they get fewer
EXAMPLES = 150
NETWORK_EXAMPLES = 25
NETWORK_TOOLS = frozenset(spec.name for spec in TOOLS if spec.annotations.open_world_hint)
MASKED = "Error calling tool"
#: hand-picked arguments that reach past input validation (random ones mostly do not)
DEEP = {
    "webplatform_digest": [
        {"version": SAMPLE_VERSION},
        {"version": SAMPLE_VERSION, "focus_areas": ["css", "../../etc"], "language": "zh"},
        {"version": SAMPLE_VERSION, "focus_areas": ["javascript"], "use_cache": False},
    ],
    "generate_github_pages": [{"html": True}, {"version": SAMPLE_VERSION, "language": "en"}],
    "process_release_notes": [{"all": True}, {"version": 146, "channel": "beta"}],
}


def _unreachable_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def client_portal(tmp_path: Path) -> Iterator[tuple[BlockingPortal, Client[Any]]]:
    """An in-memory client over a server with processed samples and their (offline) digests,
    driven from a portal."""
    seed_samples(tmp_path)
    server, container = make_server(
        tmp_path,
        monitor_base_url=f"http://127.0.0.1:{_unreachable_port()}",
        fetch_timeout=2.0,
        retry_base_delay=0.001,
        retry_max_delay=0.005,
    )
    client: Client[Any] = Client(server)
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(client):
        portal.call(partial(client.call_tool, "process_release_notes", {"version": SAMPLE_VERSION}))
        portal.call(partial(client.call_tool, "webplatform_digest", {"version": SAMPLE_VERSION}))
        yield portal, client
    container.close()


async def _bounded_call(client: Client[Any], name: str, arguments: dict[str, Any]) -> Any:
    with anyio.fail_after(30):
        return await client.call_tool_mcp(name, arguments)


def _text(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def _arguments(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Argument objects of a tool schema: each property drawn by ``from_schema``.

    hypothesis-jsonschema 0.23's own object strategy uses a private Hypothesis API that
    Hypothesis 6.170 changed (``many.more``); our schemas are flat objects without extra
    properties, so composing the properties here keeps every value schema-driven.
    """
    assert schema.get("type") == "object"
    assert schema.get("additionalProperties") is False
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    return st.fixed_dictionaries(
        {k: from_schema(v) for k, v in properties.items() if k in required},
        optional={k: from_schema(v) for k, v in properties.items() if k not in required},
    )


def _fuzz(
    portal: BlockingPortal,
    client: Client[Any],
    tool: Tool,
    examples: int,
    tally: dict[str, int],
) -> None:
    """Call ``tool`` with ``examples`` argument sets drawn from its input schema."""
    name = tool.name

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(_arguments(tool.input_schema))
    def call(arguments: dict[str, Any]) -> None:
        result = portal.call(_bounded_call, client, name, arguments)
        text = _text(result)
        assert not text.startswith(MASKED), (name, arguments, text)
        if not result.is_error:
            structured_result(tool.output_schema, result.structured_content, text)
        tally["tool_errors" if result.is_error else "results"] += 1

    for arguments in DEEP.get(name, ()):
        call = example(arguments)(call)
    call()


def test_every_tool_answers_fuzzed_arguments_with_a_result_or_a_tool_error(
    client_portal: tuple[BlockingPortal, Client[Any]], caplog: pytest.LogCaptureFixture
) -> None:
    """No example of any tool's schema crashes the server or reaches an unexpected error."""
    portal, client = client_portal
    caplog.set_level(logging.WARNING)
    tools = portal.call(client.list_tools)
    counts: dict[str, dict[str, int]] = {}
    for tool in tools:
        tally = counts.setdefault(tool.name, {"results": 0, "tool_errors": 0})
        examples = NETWORK_EXAMPLES if tool.name in NETWORK_TOOLS else EXAMPLES
        _fuzz(portal, client, tool, examples, tally)
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert tracebacks == []
    assert len(portal.call(client.list_tools)) == len(tools)  # still serving
    assert sorted(counts) == sorted(TOOL_NAMES)
    assert all(sum(tally.values()) > 0 for tally in counts.values())
    assert counts["webplatform_digest"]["results"] >= len(DEEP["webplatform_digest"]) - 1
    assert counts["generate_github_pages"]["results"] >= len(DEEP["generate_github_pages"])
    record_figures("tool_fuzz", counts)
