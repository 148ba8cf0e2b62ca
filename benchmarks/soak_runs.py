"""``make soak``'s consecutive-runs mode: N digest runs, one after another, on one server.

Each run is a real ``webplatform_digest`` tool call over streamable HTTP (a fresh MCP session
per run, as separate host calls make them) against the loopback fake LLM with a small latency.
Runs rotate through every processed release of the corpus (the bundled samples where the
corpus is absent) and two of its areas at a time, with ``use_cache`` false and ``overwrite``
true, so every run asks the LLM and writes its files: caches cannot make it trivial. After
each run (every ``--summary-every`` runs) the host asks ``telemetry_summary`` about it, which
reads the growing telemetry log: the part that once grew RSS by 170 MiB over 240 runs. The
server's RSS and open fds are read after every run; the target is a flat RSS after warm-up
(at most +10 MiB from run 20 to the last run).
"""

import argparse
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastmcp import Client
from mcp.types import CallToolResult
from tests.fake_llm import FakeLLM, FaultProfile, running_fake_llm
from tests.server_process import ServerProcess
from tests.server_support import seed_samples
from tests.system.support import llm_env

from benchmarks.common import copy_notes, corpus_dir
from benchmarks.soak_series import probe_process, sampling

#: RSS growth from the warm-up run to the last run that still counts as flat
FLAT_MIB = 10.0
WARM_UP_RUN = 20
_STABLE_NOTE = re.compile(r"^chrome-(\d+)\.md$")


@dataclass
class Runs:
    """What the consecutive runs observed, run by run."""

    rss_mib: list[float] = field(default_factory=list[float])
    fds: list[int] = field(default_factory=list[int])
    seconds: list[float] = field(default_factory=list[float])
    summary_seconds: list[float] = field(default_factory=list[float])
    failed: list[str] = field(default_factory=list[str])
    fallbacks: int = 0
    llm_calls: int = 0


def _seed(root: Path) -> None:
    """Every stable Chrome note of the corpus and its WebGPU note, else the bundled samples."""
    corpus = corpus_dir()
    if corpus is None:
        seed_samples(root)
        return
    stable = (_STABLE_NOTE.match(path.name) for path in sorted(corpus.iterdir()))
    copy_notes(corpus, root, [int(match.group(1)) for match in stable if match is not None])


async def _processed(url: str) -> list[tuple[int, list[str]]]:
    """Process every note; each release with the areas that have features."""
    async with Client(url, timeout=600) as client:
        result = await client.call_tool("process_release_notes", {"all": True})
    payload: dict[str, Any] = result.structured_content or {}
    releases = payload.get("releases") or [payload]
    found = [
        (int(r["version"]), sorted(a for a, n in r["areas"].items() if n > 0)) for r in releases
    ]
    return [(version, areas) for version, areas in sorted(found) if len(areas) >= 2]


def _arguments(index: int, releases: list[tuple[int, list[str]]]) -> dict[str, Any]:
    """Run ``index``: the next release in turn and the next two of its areas."""
    version, areas = releases[index % len(releases)]
    turn = index // len(releases)
    pair = [areas[(2 * turn) % len(areas)], areas[(2 * turn + 1) % len(areas)]]
    return {"version": version, "focus_areas": pair, "use_cache": False, "overwrite": True}


def _failure(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)[:200]


async def _one_run(url: str, arguments: dict[str, Any], runs: Runs, *, summary: bool) -> None:
    """One run as a host makes it: the digest, then (``summary``) what telemetry says of it."""
    started = time.monotonic()
    async with Client(url, timeout=300) as client:
        result = await client.call_tool_mcp("webplatform_digest", arguments)
        runs.seconds.append(time.monotonic() - started)
        payload: dict[str, Any] = result.structured_content or {}
        if result.is_error or payload.get("status") != "completed":
            runs.failed.append(f"{arguments}: {_failure(result)}")
            return
        runs.fallbacks += int(payload.get("fallbacks") or 0)
        runs.llm_calls += int(payload.get("llm_calls") or 0)
        if summary:
            started = time.monotonic()
            told = await client.call_tool_mcp("telemetry_summary", {"run_ids": [payload["run_id"]]})
            runs.summary_seconds.append(time.monotonic() - started)
            if told.is_error:
                runs.failed.append(f"telemetry_summary: {_failure(told)}")


def _at(values: list[Any], run: int) -> Any:
    """The value after run ``run`` (1-based), or after the last run when there were fewer."""
    return values[min(run, len(values)) - 1]


def _figures(runs: Runs, releases: list[tuple[int, list[str]]]) -> dict[str, Any]:
    count = len(runs.rss_mib)
    warm = min(WARM_UP_RUN, count)
    growth = round(runs.rss_mib[-1] - _at(runs.rss_mib, warm), 1)
    return {
        "runs": count,
        "releases": [version for version, _ in releases],
        "seconds": round(sum(runs.seconds), 1),
        "run_seconds_p50": round(sorted(runs.seconds)[count // 2], 3),
        "telemetry_summaries": len(runs.summary_seconds),
        "telemetry_summary_seconds_first_last": [
            round(runs.summary_seconds[i], 3) for i in (0, -1) if runs.summary_seconds
        ],
        "failed_runs": len(runs.failed),
        "failures": runs.failed[:5],
        "llm_calls": runs.llm_calls,
        "fallbacks": runs.fallbacks,
        "rss_mib_after_run": {
            str(n): round(_at(runs.rss_mib, n), 1) for n in sorted({1, warm, count})
        },
        "rss_growth_after_warm_up_mib": growth,
        "flat": growth <= FLAT_MIB,
        "fds_after_run": {str(n): _at(runs.fds, n) for n in sorted({1, warm, count})},
        "rss_mib_every_10_runs": [round(v, 1) for v in runs.rss_mib[9::10]],
    }


def _print(figures: dict[str, Any]) -> None:
    rss = figures["rss_mib_after_run"]
    print(
        f"runs {figures['runs']} in {figures['seconds']:g} s (p50 {figures['run_seconds_p50']} s), "
        f"failed {figures['failed_runs']}, fallbacks {figures['fallbacks']}, "
        f"RSS after run {', '.join(f'{k}: {v}' for k, v in rss.items())} MiB, "
        f"growth after warm-up {figures['rss_growth_after_warm_up_mib']:+g} MiB "
        f"({'flat' if figures['flat'] else 'NOT flat'}), fds {figures['fds_after_run']}"
    )


def _server_env(fake: FakeLLM) -> dict[str, str]:
    return llm_env(fake, progress_min_interval=0.5, log_level="WARNING")


async def soak_runs(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """``args.runs`` consecutive digest runs on one server over ``root``; returns the report
    section (``series``: RSS and fds every ``args.sample_every`` seconds)."""
    _seed(root)
    lo, hi = args.run_latency_ms
    runs = Runs()
    releases: list[tuple[int, list[str]]] = []
    with running_fake_llm(FaultProfile(latency_ms=(lo, hi), seed=2)) as fake:
        server = ServerProcess.start(root, _server_env(fake))
        try:
            async with sampling(server.process.pid, args.sample_every) as series:
                series.phase = "processing"
                releases = await _processed(server.mcp_url)
                series.phase = "runs"
                for index in range(args.runs):
                    summary = args.summary_every > 0 and (index + 1) % args.summary_every == 0
                    arguments = _arguments(index, releases)
                    await _one_run(server.mcp_url, arguments, runs, summary=summary)
                    rss, fds = probe_process(server.process.pid)
                    runs.rss_mib.append(rss)
                    runs.fds.append(fds)
            figures = _figures(runs, releases) | {
                "fake_llm": fake.stats(),
                "latency_ms": [lo, hi],
                "series": series.to_json(),
            }
            figures["server_exit_code"] = server.terminate(timeout=30)
        finally:
            server.kill()
    _print(figures)
    return figures
