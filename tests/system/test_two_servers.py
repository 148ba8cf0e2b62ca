"""Two server processes on one workspace, each running digests and site builds at once.

Each server has its own fake LLM whose replies end with a tag naming it, so every digest file
says which process wrote it. The inter-process workspace lock must serialise the commits: every
digest file is one complete version, an area's English and Chinese files come from the same
batch (the same process), and the pages manifest matches the files on disk.
"""

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastmcp import Client

from tests.fake_llm import FakeLLM, FaultProfile, running_fake_llm
from tests.server_process import ServerProcess, running_server
from tests.server_support import SAMPLE_VERSION, seed_samples
from tests.system.support import (
    check_digests,
    check_pages,
    digest_paths,
    llm_env,
    metric,
    record_figures,
    scrape,
    seed_digests,
    temp_leftovers,
)

pytestmark = pytest.mark.system

ROUNDS = 3
TAGS = {"a": "来源标记 server-a", "b": "来源标记 server-b"}
TAG = re.compile(r"来源标记 server-([ab])")


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, tuple[ServerProcess, FakeLLM]]]:
    """Servers a and b on one workspace, each with its own tagged fake LLM."""
    seed_samples(tmp_path)
    seed_digests(tmp_path, range(130, 136), ("css", "javascript", "web-apis"))  # a site exists
    with ExitStack() as stack:
        running: dict[str, tuple[ServerProcess, FakeLLM]] = {}
        for name, tag in TAGS.items():
            fake = stack.enter_context(
                running_fake_llm(FaultProfile(latency_ms=(2, 20), tag=tag, seed=len(running)))
            )
            log_name = f"server-{name}.log"
            server = stack.enter_context(running_server(tmp_path, llm_env(fake), log_name=log_name))
            running[name] = (server, fake)
        yield running


async def _calls(server: ServerProcess, out: list[tuple[str, Any]]) -> None:
    """Rounds of a digest and a site build at the same time, on one session."""
    async with Client(server.mcp_url) as client:
        await client.list_tools()
        for _ in range(ROUNDS):
            async with anyio.create_task_group() as group:
                for tool, args in (
                    ("webplatform_digest", {"version": SAMPLE_VERSION, "use_cache": False}),
                    ("generate_github_pages", {"html": True}),
                ):
                    group.start_soon(_call, client, tool, args, out)


async def _call(client: Client[Any], tool: str, args: dict[str, Any], out: list[Any]) -> None:
    result = await client.call_tool_mcp(tool, args)
    out.append((tool, result))


def _writers(path: Path) -> list[str]:
    return TAG.findall(path.read_text(encoding="utf-8"))


async def test_two_processes_never_mix_their_output(
    servers: dict[str, tuple[ServerProcess, FakeLLM]],
) -> None:
    """Every call succeeds; each digest names one writer, the same for both languages of an
    area; the manifest matches the site; no temp file is left."""
    root = servers["a"][0].root
    results: list[tuple[str, Any]] = []
    with anyio.fail_after(150):
        async with Client(servers["a"][0].mcp_url) as client:
            await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        async with anyio.create_task_group() as group:
            for server, _ in servers.values():
                group.start_soon(_calls, server, results)

    failed = [(tool, r.content) for tool, r in results if r.is_error]
    assert failed == []
    assert len(results) == 2 * 2 * ROUNDS
    assert check_digests(root) == []
    assert check_pages(root) == []
    assert temp_leftovers(root) == []
    by_area: dict[str, set[str]] = {}
    ours = [p for p in digest_paths(root) if p.name.startswith(f"chrome-{SAMPLE_VERSION}-")]
    for path in ours:
        writers = _writers(path)
        assert len(writers) == 1, (path, writers)  # one complete version, not two glued
        by_area.setdefault(path.parent.name, set()).update(writers)
    assert by_area
    assert all(len(writers) == 1 for writers in by_area.values()), by_area
    figures: dict[str, Any] = {"final_writers": sorted({w for s in by_area.values() for w in s})}
    for name, (server, fake) in servers.items():
        samples = scrape(server.url)
        assert metric(samples, "webplatform_digest_workspace_lock_timeouts_total") == 0
        count = metric(samples, "webplatform_digest_workspace_lock_wait_seconds_count")
        total = metric(samples, "webplatform_digest_workspace_lock_wait_seconds_sum")
        figures[name] = {
            "llm_requests": fake.count,
            "lock_acquisitions": count,
            "lock_wait_mean_ms": round(1000 * total / count, 2) if count else 0.0,
        }
        assert server.terminate(timeout=10) == 0
        assert "Traceback" not in server.log()
    record_figures("two_servers", figures)
