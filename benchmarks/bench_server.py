"""MCP server figures: spawn-to-ready over stdio, idle RSS, HTTP tool-call latency under 200
concurrent calls, and resources/list cost with an empty versus a crowded workspace.

Start-up is compared with two floors measured in the same run: the bare ``import fastmcp``
(the issue's floor; fastmcp loads its server lazily, so it leaves out the ``FastMCP`` class)
and a one-tool FastMCP server spawned the same way (what any FastMCP server pays before its
first answer). Besides wall times, which a busy machine stretches, the server's own CPU time
until its ``initialize`` answer is reported for both."""

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

import psutil
from fastmcp import Client
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from tests.server_process import running_server, shim_processes, stdio_session

from benchmarks.common import percentile

SPAWNS = 5
CONCURRENT_CALLS = 200


#: the floor: a FastMCP server with one tool, started over stdio like ours
FLOOR_SERVER = """
from fastmcp import FastMCP

mcp = FastMCP("floor")


@mcp.tool
def ping() -> str:
    return "pong"


mcp.run(show_banner=False)
"""
FLOOR_MARKER = "floor-server"


class _Spawn(NamedTuple):
    initialized: float  # spawn → initialize answered (the server is ready)
    first_list: float  # initialize answered → first tools/list answered
    rss_mib: float
    cpu_to_initialized: float  # the server's own CPU seconds until its initialize answer


def _cpu(processes: list[psutil.Process]) -> float:
    times = [p.cpu_times() for p in processes]
    return sum(t.user + t.system for t in times)


async def _timed(session: ClientSession, processes: Any, started: float) -> _Spawn:
    """Figures of a server spawned at ``started`` whose session is open, not initialised."""
    await session.initialize()
    initialized = time.perf_counter()
    cpu = _cpu(processes())
    await session.list_tools()
    listed = time.perf_counter()
    rss = sum(p.memory_info().rss for p in processes()) / 2**20
    return _Spawn(initialized - started, listed - initialized, rss, cpu)


async def _spawn_to_ready(root: Path) -> _Spawn:
    """Times from spawning the stdio server to its initialize answer and on to its first
    tools/list answer; its RSS (MiB) once idle."""
    started = time.perf_counter()
    # opening /dev/null does not block; the server's stderr banner would clutter the report
    with Path(os.devnull).open("w", encoding="utf-8") as devnull:  # noqa: ASYNC230
        async with stdio_session({"WEBPLATFORM_ROOT": str(root)}, devnull) as session:
            return await _timed(session, shim_processes, started)


async def _floor_spawn() -> _Spawn:
    """The same figures for the one-tool FastMCP server."""
    params = StdioServerParameters(command=sys.executable, args=["-c", FLOOR_SERVER, FLOOR_MARKER])
    started = time.perf_counter()
    with Path(os.devnull).open("w", encoding="utf-8") as devnull:  # noqa: ASYNC230
        async with (
            stdio_client(params, errlog=devnull) as (read, write),
            ClientSession(read, write) as session,
        ):
            return await _timed(session, _floor_processes, started)


def _floor_processes() -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if FLOOR_MARKER in child.cmdline()
    ]


def _bare_fastmcp_import() -> float:
    """Seconds a fresh interpreter takes to ``import fastmcp`` and exit (median)."""
    command = (sys.executable, "-c", "import fastmcp")
    times: list[float] = []
    for _ in range(SPAWNS):
        started = time.perf_counter()
        subprocess.run(command, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


async def _concurrent_calls(url: str) -> tuple[list[float], float]:
    async with Client(url) as client:
        await client.call_tool("list_focus_areas", {})  # warm the session

        async def one() -> float:
            started = time.perf_counter()
            await client.call_tool("list_focus_areas", {})
            return time.perf_counter() - started

        started = time.perf_counter()
        latencies = await asyncio.gather(*(one() for _ in range(CONCURRENT_CALLS)))
        return list(latencies), time.perf_counter() - started


def _crowd(root: Path, releases: int) -> None:
    """Fill a workspace with many release notes and processed area files."""
    notes = root / "release_notes"
    notes.mkdir(parents=True, exist_ok=True)
    for version in range(1, releases + 1):
        (notes / f"chrome-{version}.md").write_text(f"# Chrome {version}\n", encoding="utf-8")
        area = root / "processed" / "areas" / "css"
        area.mkdir(parents=True, exist_ok=True)
        (area / f"chrome-{version}-stable.yml").write_text("version: 1\n", encoding="utf-8")


async def _list_cost(root: Path, rounds: int = 50) -> float:
    from webplatform_digest.container import Container
    from webplatform_digest.server.app import create_server
    from webplatform_digest.settings import load_settings

    server = create_server(Container(load_settings(root=root)))
    async with Client(server) as client:
        await client.list_resources()
        samples: list[float] = []
        for _ in range(rounds):
            started = time.perf_counter()
            await client.list_resources()
            await client.list_resource_templates()
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def _main() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-server-"))
    try:
        spawns: list[_Spawn] = []
        floors: list[_Spawn] = []
        for _ in range(SPAWNS):  # interleaved, so both see the same machine
            spawns.append(await _spawn_to_ready(work))
            floors.append(await _floor_spawn())
        bare = _bare_fastmcp_import()
        with running_server(work, {}) as server:
            latencies, wall = await _concurrent_calls(server.mcp_url)
            idle_http_rss = psutil.Process(server.process.pid).memory_info().rss / 2**20
            server.terminate(timeout=15)
        empty, crowded = work / "empty", work / "crowded"
        empty.mkdir()
        _crowd(crowded, 500)
        list_empty, list_crowded = await _list_cost(empty), await _list_cost(crowded)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ready = [s.initialized + s.first_list for s in spawns]
    initialized = statistics.median(s.initialized for s in spawns)
    floor_initialized = statistics.median(s.initialized for s in floors)
    cpu = statistics.median(s.cpu_to_initialized for s in spawns)
    floor_cpu = statistics.median(s.cpu_to_initialized for s in floors)
    return {
        "stdio_spawn_to_tools_list_median_s": statistics.median(ready),
        "stdio_spawn_to_tools_list_max_s": max(ready),
        "spawn_target_s": 1.2,
        "bare_fastmcp_import_s": bare,
        "stdio_spawn_to_initialized_median_s": initialized,
        "spawn_to_initialized_over_bare_import_ms": (initialized - bare) * 1000,
        "spawn_over_bare_import_target_ms": 150,
        "floor_server_spawn_to_initialized_median_s": floor_initialized,
        "spawn_to_initialized_over_floor_server_ms": (initialized - floor_initialized) * 1000,
        "server_cpu_to_initialized_s": cpu,
        "floor_server_cpu_to_initialized_s": floor_cpu,
        "server_cpu_to_initialized_over_floor_server_ms": (cpu - floor_cpu) * 1000,
        "floor_server_first_tools_list_median_ms": statistics.median(s.first_list for s in floors)
        * 1000,
        "first_tools_list_after_initialize_median_ms": statistics.median(
            s.first_list for s in spawns
        )
        * 1000,
        "first_tools_list_target_ms": 20,
        "stdio_idle_rss_mib": statistics.median(s.rss_mib for s in spawns),
        "idle_rss_target_mib": 85,
        "floor_server_idle_rss_mib": statistics.median(s.rss_mib for s in floors),
        "http_idle_rss_after_calls_mib": idle_http_rss,
        "http_concurrent_calls": CONCURRENT_CALLS,
        "http_list_focus_areas_p50_ms": percentile(latencies, 50) * 1000,
        "http_list_focus_areas_p95_ms": percentile(latencies, 95) * 1000,
        "http_calls_per_s": CONCURRENT_CALLS / wall,
        "resources_list_ms_empty_workspace": list_empty * 1000,
        "resources_list_ms_500_releases": list_crowded * 1000,
        "resources_list_cost_ratio_500_vs_0": list_crowded / list_empty,
    }


def run() -> dict[str, Any]:
    """Benchmark entry point."""
    return asyncio.run(_main())


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<48} {value}")
