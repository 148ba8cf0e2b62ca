"""Digest runs: the server-side driver against the schedule limit, per-call overhead, CLI RSS.

A full bilingual run of Chrome 144 from the corpus (processed into a temporary workspace first)
with a simulated LLM of latency L = 100 ms at concurrency C = 4 and a high rate limit. The
schedule limit of 2N chained unit tasks (EN → ZH per area) on C slots is max(2L, ⌈2N/C⌉·L).
The CLI's peak RSS is measured in a subprocess running an offline digest of the same release.
"""

import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import psutil

from benchmarks.common import copy_notes, corpus_dir
from webplatform_digest.digest.machine import Failure, PendingRequest
from webplatform_digest.digest.plan import RunPlan
from webplatform_digest.digest.prompts import RequestOptions
from webplatform_digest.events import Telemetry
from webplatform_digest.llm.governor import Governor
from webplatform_digest.llm.limits import GovernorConfig
from webplatform_digest.llm.port import LLMReply, LLMRequest
from webplatform_digest.retry import RetryPolicy
from webplatform_digest.runs.deferred import DeferredWrites
from webplatform_digest.runs.driver import RunLimits, advance_rounds, run_digest, start_rounds
from webplatform_digest.runs.registry import RunRegistry, new_run_id
from webplatform_digest.runs.request import build_plan, parse_run_request
from webplatform_digest.runs.session import Round, RunServices
from webplatform_digest.services.process import process_release
from webplatform_digest.storage.area_store import AreaStore, load_catalog
from webplatform_digest.storage.queue import WriteQueue
from webplatform_digest.storage.workspace import Workspace

LATENCY = 0.100
CONCURRENCY = 4
VERSION = 144
REPEATS = 3
_DIGEST = re.compile(r"<<<DIGEST\n(.*)\nDIGEST>>>", re.DOTALL)
_LABEL = re.compile(r"\[[^\]]*\]\(")


def _english(request: LLMRequest) -> str:
    prompt = re.sub(
        r"<<<RELEASE NOTES.*?RELEASE NOTES>>>", "", request.messages[0].text, flags=re.DOTALL
    )
    headings = [line for line in prompt.split("\n") if line.startswith("## ")]
    sections = [f"{h}\n\nA simulated summary of {h[3:]} for web developers." for h in headings]
    return "\n\n".join(["A simulated overview of the area.", *sections])


def _chinese(request: LLMRequest) -> str:
    match = _DIGEST.search(request.messages[0].text)
    english = match.group(1) if match else ""
    lines: list[str] = []
    for line in english.split("\n"):
        if line.startswith("#"):
            hashes, _, rest = line.partition(" ")
            lines.append(f"{hashes} 功能：{rest}")
        elif "](" in line:
            lines.append(_LABEL.sub("[相关链接](", line))
        elif line.strip():
            lines.append("这是模拟的中文翻译，用于衡量调度开销。")
        else:
            lines.append("")
    return "\n".join(lines)


class SimulatedLLM:
    """A backend that answers valid digests after a fixed latency."""

    name = "simulated"
    model = "sim-1"

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.calls = 0

    async def complete(self, request: LLMRequest) -> LLMReply:
        """Sleep L, then answer."""
        self.calls += 1
        await anyio.sleep(self.latency)
        text = _chinese(request) if request.meta.language == "zh" else _english(request)
        return LLMReply(text=text, model=self.model)


async def _process(root: Path, corpus: Path) -> None:
    copy_notes(corpus, root, (VERSION,))
    workspace = Workspace.at(root)
    await process_release(workspace, load_catalog(workspace), VERSION)


def _plan(root: Path, backend: str) -> tuple[Workspace, RunPlan]:
    """The bilingual plan of every area of the processed release (no cache)."""
    workspace = Workspace.at(root)
    catalog = load_catalog(workspace)
    request = parse_run_request(version=VERSION, catalog=catalog, use_cache=False)
    plan = build_plan(
        request,
        run_id=new_run_id(),
        store=AreaStore(workspace),
        catalog=catalog,
        backend=backend,
        options=RequestOptions(),
    )
    return workspace, plan


async def _server_side_run(root: Path) -> dict[str, Any]:
    workspace, plan = _plan(root, SimulatedLLM.name)
    areas = sum(1 for s in plan.subjects if s.data.features)
    telemetry = Telemetry()
    config = GovernorConfig(
        max_concurrency=CONCURRENCY,
        rate_limit=1000.0,
        rate_burst=100,
        retry=RetryPolicy(attempts=1),
    )
    governor = Governor(config, telemetry)
    backend = SimulatedLLM(LATENCY)
    registry = RunRegistry(workspace.path(Workspace.monitoring_rel("runs.sqlite3")))
    try:
        async with WriteQueue.open(workspace, telemetry=telemetry) as queue:
            services = RunServices(workspace, registry, queue, telemetry)
            cpu0, started = time.process_time(), time.perf_counter()
            summary = await run_digest(
                services,
                plan,
                backend,
                governor,
                limits=RunLimits(CONCURRENCY, 3600.0),
                use_cache=False,
            )
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
    finally:
        registry.close()
    limit = max(2 * LATENCY, math.ceil(2 * areas / CONCURRENCY) * LATENCY)
    calls = summary.llm_calls
    return {
        "areas_with_features": areas,
        "llm_calls": calls,
        "fallbacks": summary.fallbacks,
        "files_written": len(summary.written),
        "peak_in_flight": governor.peak_in_flight,
        "server_side_wall_s": round(wall, 4),
        "schedule_limit_s": round(limit, 4),
        "server_side_wall_over_limit": round(wall / limit, 4),
        "overhead_per_call_ms": round(1000 * max(0.0, wall - limit) / max(1, calls), 3),
        "cpu_per_call_ms": round(1000 * cpu / max(1, calls), 3),
    }


async def _rounds_run(root: Path) -> dict[str, Any]:
    """The input-required driver without MCP: a client answering each round concurrently."""
    workspace, plan = _plan(root, "sampling")
    areas = sum(1 for s in plan.subjects if s.data.features)
    client = SimulatedLLM(LATENCY)
    limits = RunLimits(CONCURRENCY, 3600.0)
    registry = RunRegistry(workspace.path(Workspace.monitoring_rel("runs-rounds.sqlite3")))
    telemetry = Telemetry()
    rounds = 0
    try:
        async with (
            WriteQueue.open(workspace, telemetry=telemetry) as queue,
            DeferredWrites.open() as deferred,
        ):
            services = RunServices(workspace, registry, queue, telemetry, deferred=deferred)
            started = time.perf_counter()
            step = await start_rounds(services, plan, limits=limits, use_cache=False)
            while isinstance(step, Round):
                rounds += 1
                replies = await _answer_round(client, step)
                step = await advance_rounds(
                    services, step.run_id, step.token, replies, limits=limits
                )
            wall = time.perf_counter() - started
    finally:
        registry.close()
    limit = max(2 * LATENCY, math.ceil(2 * areas / CONCURRENCY) * LATENCY)
    return {
        "rounds": rounds,
        "rounds_driver_wall_s": round(wall, 4),
        "rounds_driver_wall_over_limit": round(wall / limit, 4),
        "rounds_overhead_per_call_ms": round(1000 * max(0.0, wall - limit) / max(1, 2 * areas), 3),
    }


async def _answer_round(client: SimulatedLLM, step: Round) -> dict[str, LLMReply | Failure]:
    replies: dict[str, LLMReply | Failure] = {}

    async def one(pending: PendingRequest) -> None:
        replies[pending.request_id] = await client.complete(pending.request)

    async with anyio.create_task_group() as group:
        for pending in step.requests:
            group.start_soon(one, pending)
    return replies


def _cli_peak_rss(root: Path) -> dict[str, Any]:
    """Peak RSS of ``webplatform-digest run --llm offline`` in a fresh subprocess."""
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child of a big parent inherits it
    code = (
        "import re, sys\n"
        "from webplatform_digest.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "print('FASTMCP', 'fastmcp' in sys.modules, file=sys.stderr)\n"
        "status = open('/proc/self/status', encoding='utf-8').read()\n"
        "print('RSS', re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    args = ["run", "--version", str(VERSION), "--llm", "offline", "--root", str(root), "--json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBPLATFORM_")}
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    found = dict(
        line.split(" ", 1) for line in done.stderr.splitlines() if line.startswith(("RSS", "FAST"))
    )
    return {
        "cli_exit_code": done.returncode,
        "cli_peak_rss_mib": round(int(found.get("RSS", "0")) / 1024, 1),
        "cli_imports_fastmcp": found.get("FASTMCP", "?"),
        "cli_rss_target_mib": 60,
    }


def _best_of(runs: list[dict[str, Any]], ratio: str) -> dict[str, Any]:
    """The run with the lowest wall/limit ratio, plus the median ratio (the host is shared)."""
    ordered = sorted(runs, key=lambda r: r[ratio])
    best = dict(ordered[0])
    best[f"{ratio}_median"] = ordered[len(ordered) // 2][ratio]
    return best


def run() -> dict[str, Any]:
    """Figures of the digest section (each driver measured REPEATS times; best and median)."""
    corpus = corpus_dir()
    if corpus is None or not (corpus / f"chrome-{VERSION}.md").is_file():
        return {"skipped": "corpus not found"}
    with tempfile.TemporaryDirectory(prefix="bench-digest-") as tmp:
        root = Path(tmp) / "ws"
        anyio.run(_process, root, corpus)
        rss_before = psutil.Process().memory_info().rss
        first = anyio.run(_server_side_run, root)
        rss_growth = (psutil.Process().memory_info().rss - rss_before) / 2**20
        runs = [first, *(anyio.run(_server_side_run, root) for _ in range(REPEATS - 1))]
        figures = _best_of(runs, "server_side_wall_over_limit")
        figures["files_written"] = first["files_written"]
        figures["server_side_rss_growth_mib"] = round(rss_growth, 2)
        rounds = [anyio.run(_rounds_run, root) for _ in range(REPEATS)]
        figures |= _best_of(rounds, "rounds_driver_wall_over_limit")
        figures |= _cli_peak_rss(root)
    figures["repeats"] = REPEATS
    figures["bench_peak_rss_mib"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
    )
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<36} {value}")
