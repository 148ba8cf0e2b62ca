"""SIGTERM while LLM calls are in flight and a site build is committing.

The HTTP server drains gracefully (uvicorn waits up to 5 s for open requests, then cancels
them): the site commit, which is shielded, completes; the digest run, whose LLM answers take
seconds, is cut short and left ``interrupted`` with its snapshot. After a restart (which sweeps
temp files) the run is still interrupted, and ``run_driver.resume_digest`` finishes it. There is
no MCP tool or CLI command to resume a run; the test resumes it in-process.
"""

import time
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
    llm_env,
    record_figures,
    seed_digests,
    temp_leftovers,
)
from webplatform_digest.container import Container
from webplatform_digest.runs.driver import resume_digest
from webplatform_digest.runs.registry import RunRecord, RunRegistry, RunStatus
from webplatform_digest.services.digest import run_limits
from webplatform_digest.settings import load_settings

pytestmark = pytest.mark.system

SITE_AREAS = ("css", "javascript", "web-apis", "network", "security-privacy", "other")
#: slow answers: 28 requests at 4 in flight outlast the 5 s graceful-shutdown period
SLOW = FaultProfile(latency_ms=(1500, 2500), seed=5)


async def _call(server: ServerProcess, tool: str, args: dict[str, Any], out: dict[str, Any]):
    """Call one tool; keep its result, or the error if the server went away first (closing
    the session afterwards may fail too: the listener is gone by then)."""
    try:
        async with Client(server.mcp_url) as client:
            # the session checks results against the tools' output schemas: fetch them now,
            # not from a server that is stopping
            await client.list_tools()
            out[tool] = await client.call_tool_mcp(tool, args)
    except Exception as exc:  # noqa: BLE001 - the server going away mid-call is the scenario
        out.setdefault(tool, exc)


async def _commit_in_progress(root: Path, timeout: float) -> bool:
    """Wait until the site commit has staged temp files (False if the build ended first)."""
    site = root / "digest_markdown" / "versions"
    with anyio.fail_after(timeout):
        while True:
            if any(site.rglob(".tmp-*.part")):
                return True
            if (root / "site" / "index.html").exists():
                return False
            await anyio.sleep(0.001)  # another process's files: nothing to await on


def _runs(root: Path) -> list[RunRecord]:
    registry = RunRegistry(root / ".monitoring" / "runs.sqlite3")
    try:
        return registry.list_runs()
    finally:
        registry.close()


async def _resume(root: Path, fake: FakeLLM, run_id: str) -> dict[str, Any]:
    settings = load_settings(
        root=root, llm_backend="openai", llm_base_url=fake.base_url, rate_limit=1000.0
    )
    container = Container(settings)
    try:
        async with container.running():
            summary = await resume_digest(
                container.run_services(),
                run_id,
                container.openai_backend(),
                container.governor,
                limits=run_limits(settings),
            )
    finally:
        container.close()
    return summary.to_json()


async def test_sigterm_mid_run_exits_in_time_tears_nothing_and_leaves_a_resumable_run(
    tmp_path: Path,
) -> None:
    """Exit code 0 within 10 s; digests and the site parse and match the manifest; no temp
    file after the restart's sweep; the run is interrupted, and resuming it completes it."""
    root = tmp_path
    seed_samples(root)
    seeded = seed_digests(root, range(100, 140), SITE_AREAS)
    results: dict[str, Any] = {}
    hit, code, shutdown_seconds = False, None, 0.0
    with running_fake_llm(SLOW) as fake:
        with running_server(root, llm_env(fake, sampling_timeout=30)) as server:
            with anyio.fail_after(60):
                async with Client(server.mcp_url) as client:
                    await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
                async with anyio.create_task_group() as group:
                    group.start_soon(
                        _call, server, "webplatform_digest", {"version": SAMPLE_VERSION}, results
                    )
                    await fake.until(lambda f: f.in_flight >= 4, timeout=30)
                    group.start_soon(
                        _call, server, "generate_github_pages", {"html": True}, results
                    )
                    hit = await _commit_in_progress(root, timeout=30)
                    started = time.monotonic()
                    code = await anyio.to_thread.run_sync(lambda: server.terminate(timeout=10))
                    shutdown_seconds = time.monotonic() - started
            await fake.until(lambda f: f.in_flight == 0, timeout=10)
        log = server.log()
        leftovers_before = len(temp_leftovers(root))

        with running_server(root, llm_env(fake), log_name="restart-stderr.log") as restarted:
            assert restarted.terminate(timeout=10) == 0
        leftovers_after = temp_leftovers(root)
        (run,) = _runs(root)
        fake.configure(latency_ms=(0.0, 5.0))
        before_resume = fake.count
        resumed = await _resume(root, fake, run.run_id)
        resume_requests = fake.count - before_resume

    assert hit, "the SIGTERM did not land during the site commit"
    assert code == 0
    assert "server stopped cleanly" in log
    pages = results["generate_github_pages"]
    assert not isinstance(pages, BaseException), pages
    assert not pages.is_error
    assert check_pages(root) == []
    assert check_digests(root) == []
    assert leftovers_after == []
    assert run.status is RunStatus.INTERRUPTED, run
    assert "server stopped" in run.reason
    assert resumed["status"] == "completed"
    assert 0 < resume_requests < 28  # only what was not final yet, not the whole run again
    assert all(
        status in {"ok", "retried"} for row in resumed["areas"].values() for status in row.values()
    )
    assert check_digests(root) == []
    assert _runs(root)[0].status is RunStatus.COMPLETED
    record_figures(
        "shutdown",
        {
            "shutdown_seconds": round(shutdown_seconds, 3),
            "site_files_seeded": seeded,
            "temp_files_before_restart": leftovers_before,
            "llm_requests_before_shutdown": before_resume,
            "llm_requests_of_the_resume": resume_requests,
        },
    )
