"""``make soak``: the server under load for a long time, its RSS and open fds per minute.

Two parts, each on a fresh server process over streamable HTTP against a loopback fake LLM:

* **Levels** (``--levels 1,4,16``, ``--seconds`` each): C concurrent MCP sessions call a mix of
  tools for a bounded time (fake LLM: 50–500 ms latency, 5 % errors, 1 % hangs). Reported: tool
  calls/s, p50/p95/p99 latency (overall and per tool), errors by class (``isError`` results,
  protocol errors, HTTP 5xx, transport), breaker opens, LLM requests per digest call, and the
  server's RSS and open-fd growth per level.
* **Consecutive runs** (``--runs 240``, see ``benchmarks.soak_runs``): digest runs one after
  another on one server; RSS and fds after every run, the growth from run 20 to the last.

Both print the server's RSS and open fds every ``--sample-every`` seconds (60: per minute) and
keep them in ``bench-report-soak.json`` (``series``). ``--mode levels|runs|both`` picks the
parts (default both). Not part of ``make test`` or CI. ``python -m benchmarks.soak --seconds 10
--runs 40`` is a short run; ``WEBPLATFORM_SOAK_SECONDS`` sets the default duration per level.
"""

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import orjson
from fastmcp import Client
from mcp.shared.exceptions import MCPError
from tests.fake_llm import FakeLLM, FaultProfile, running_fake_llm
from tests.server_process import ServerProcess
from tests.server_support import SAMPLE_VERSION, seed_samples
from tests.system.support import llm_env, metric, scrape

from benchmarks.common import REPO_ROOT, percentile
from benchmarks.soak_runs import soak_runs
from benchmarks.soak_series import probe_process, sampling

AREAS = ("css", "javascript", "web-apis", "network", "html-dom", "security-privacy")
#: (tool, weight) of the call mix
MIX = (
    ("list_focus_areas", 30),
    ("get_digest_progress", 25),
    ("webplatform_digest", 30),
    ("generate_github_pages", 15),
)
REPORT = REPO_ROOT / "bench-report-soak.json"


@dataclass
class Level:
    """What the sessions of one concurrency level observed."""

    sessions: int
    latencies: dict[str, list[float]] = field(default_factory=dict[str, list[float]])
    outcomes: Counter[str] = field(default_factory=Counter[str])
    errors_by_tool: Counter[str] = field(default_factory=Counter[str])
    error_samples: dict[str, str] = field(default_factory=dict[str, str])
    run_ids: list[str] = field(default_factory=list[str])

    def record(self, tool: str, seconds: float, outcome: str, detail: str = "") -> None:
        """One finished call (``detail``: error text, the first one per class is kept)."""
        self.latencies.setdefault(tool, []).append(seconds)
        self.outcomes[outcome] += 1
        if outcome != "ok":
            key = f"{tool}:{outcome}"
            self.errors_by_tool[key] += 1
            self.error_samples.setdefault(key, detail[:300])


def _arguments(tool: str, level: Level, rng: random.Random) -> dict[str, Any]:
    if tool == "webplatform_digest":
        return {
            "version": SAMPLE_VERSION,
            "focus_areas": rng.sample(AREAS, 2),
            "use_cache": rng.random() < 0.5,
        }
    if tool == "get_digest_progress":
        # recent runs only: the registry keeps the last WEBPLATFORM_RUNS_RETENTION runs
        return {"run_id": rng.choice(level.run_ids[-50:]), "limit": 20}
    if tool == "generate_github_pages":
        return {"html": rng.random() < 0.3}
    return {}


def _classify(exc: BaseException) -> str:
    # the MCP client's HTTP stack may be httpx or its fork: look at the response duck-typed
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int) and status >= 500:
        return "http_5xx"
    if isinstance(exc, MCPError):
        return "protocol_error"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return f"transport:{type(exc).__name__}"


async def _one_call(client: Client[Any], level: Level, rng: random.Random) -> None:
    tool = rng.choices([t for t, _ in MIX], weights=[w for _, w in MIX])[0]
    if tool == "get_digest_progress" and not level.run_ids:
        tool = "list_focus_areas"  # no run to ask about yet: an unknown id would be an error
    started = time.monotonic()
    try:
        with anyio.fail_after(120):
            result = await client.call_tool_mcp(tool, _arguments(tool, level, rng))
    except Exception as exc:  # noqa: BLE001 - every failure is counted by class
        level.record(tool, time.monotonic() - started, _classify(exc), repr(exc))
        return
    text = " ".join(getattr(block, "text", "") for block in result.content)
    level.record(tool, time.monotonic() - started, "is_error" if result.is_error else "ok", text)
    payload: dict[str, Any] = result.structured_content or {}
    if tool == "webplatform_digest" and isinstance(payload.get("run_id"), str):
        level.run_ids.append(payload["run_id"])


async def _session(url: str, level: Level, deadline: float, seed: int) -> None:
    rng = random.Random(seed)
    try:
        async with Client(url) as client:
            await client.list_tools()
            while time.monotonic() < deadline:
                await _one_call(client, level, rng)
    except Exception as exc:  # noqa: BLE001 - a session that cannot even connect counts too
        level.record("session", 0.0, _classify(exc), repr(exc))


@dataclass(frozen=True)
class Probe:
    """The server process and the fake at one moment."""

    rss_mib: float
    fds: int
    llm_requests: int
    breaker_opens: float
    digest_calls: float


def _probe(server: ServerProcess, fake: FakeLLM) -> Probe:
    rss_mib, fds = probe_process(server.process.pid)
    samples = scrape(server.url)
    return Probe(
        rss_mib=rss_mib,
        fds=fds,
        llm_requests=fake.count,
        breaker_opens=metric(
            samples,
            "webplatform_digest_circuit_breaker_transitions_total",
            backend="openai",
            state="open",
        ),
        digest_calls=sum(
            value
            for (name, labels), value in samples.items()
            if name == "webplatform_digest_tool_calls_total"
            and ("tool", "webplatform_digest") in labels
        ),
    )


def _latency(values: list[float]) -> dict[str, float]:
    return {
        "count": len(values),
        "p50_ms": round(1000 * percentile(values, 50), 1),
        "p95_ms": round(1000 * percentile(values, 95), 1),
        "p99_ms": round(1000 * percentile(values, 99), 1),
    }


def _figures(level: Level, seconds: float, before: Probe, after: Probe) -> dict[str, Any]:
    every = [v for values in level.latencies.values() for v in values]
    calls = sum(level.outcomes.values())
    digests = after.digest_calls - before.digest_calls
    return {
        "sessions": level.sessions,
        "seconds": round(seconds, 1),
        "tool_calls": calls,
        "calls_per_second": round(calls / seconds, 2) if seconds else 0.0,
        "latency": _latency(every),
        "latency_by_tool": {tool: _latency(v) for tool, v in sorted(level.latencies.items())},
        "outcomes": dict(level.outcomes),
        "errors_by_tool": dict(level.errors_by_tool),
        "error_samples": level.error_samples,
        "error_rate": {
            k: round(v / calls, 4) for k, v in level.outcomes.items() if k != "ok" and calls
        },
        "breaker_opens": after.breaker_opens - before.breaker_opens,
        "llm_requests": after.llm_requests - before.llm_requests,
        "llm_requests_per_digest_call": round(
            (after.llm_requests - before.llm_requests) / digests, 2
        )
        if digests
        else 0.0,
        "rss_mib": [round(before.rss_mib, 1), round(after.rss_mib, 1)],
        "rss_growth_mib": round(after.rss_mib - before.rss_mib, 1),
        "open_fds": [before.fds, after.fds],
        "fd_growth": after.fds - before.fds,
    }


async def _level(server: ServerProcess, fake: FakeLLM, sessions: int, seconds: float):
    level = Level(sessions)
    before = _probe(server, fake)
    started = time.monotonic()
    async with anyio.create_task_group() as group:
        for index in range(sessions):
            group.start_soon(_session, server.mcp_url, level, started + seconds, index)
    elapsed = time.monotonic() - started
    # let hung LLM requests time out and the server settle before measuring it again
    await fake.until(lambda f: f.in_flight == 0, timeout=60)
    return _figures(level, elapsed, before, _probe(server, fake))


def _print(figures: dict[str, Any]) -> None:
    lat = figures["latency"]
    print(
        f"C={figures['sessions']:>2}  {figures['tool_calls']:>5} calls  "
        f"{figures['calls_per_second']:>7.2f}/s  p50 {lat['p50_ms']:>7.1f} ms  "
        f"p95 {lat['p95_ms']:>8.1f} ms  p99 {lat['p99_ms']:>8.1f} ms  "
        f"errors {figures['error_rate']}  breaker opens {figures['breaker_opens']:g}  "
        f"LLM/digest {figures['llm_requests_per_digest_call']}  "
        f"RSS {figures['rss_mib'][0]}→{figures['rss_mib'][1]} MiB  "
        f"fds {figures['open_fds'][0]}→{figures['open_fds'][1]}"
    )


def _server_env(fake: FakeLLM, args: argparse.Namespace) -> dict[str, str]:
    return llm_env(
        fake,
        rate_limit=args.rate_limit,
        rate_burst=4,
        sampling_timeout=args.attempt_timeout,
        circuit_threshold=args.circuit_threshold,
        failure_cooldown=args.failure_cooldown,
        max_retries=2,
        retry_base_delay=0.5,
        retry_max_delay=8.0,
        progress_min_interval=0.5,
        log_level="WARNING",
    )


async def soak_levels(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Run every level against one server over ``root``; returns the report section."""
    profile = FaultProfile(
        latency_ms=(50, 500), error_rate=args.error_rate, hang_rate=args.hang_rate, seed=1
    )
    report: dict[str, Any] = {"profile": str(profile), "levels": []}
    seed_samples(root)
    with running_fake_llm(profile) as fake:
        server = ServerProcess.start(root, _server_env(fake, args))
        try:
            async with sampling(server.process.pid, args.sample_every) as series:
                async with Client(server.mcp_url) as client:
                    await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
                    await client.call_tool("webplatform_digest", {"version": SAMPLE_VERSION})
                for sessions in args.levels:
                    series.phase = f"C={sessions}"
                    figures = await _level(server, fake, sessions, args.seconds)
                    _print(figures)
                    report["levels"].append(figures)
            report["series"] = series.to_json()
            report["fake_llm"] = fake.stats()
            report["server_exit_code"] = server.terminate(timeout=30)
        finally:
            server.kill()
    return report


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    """Run the parts ``args.mode`` names, each on a fresh server and workspace."""
    report: dict[str, Any] = {"settings": vars(args)}
    parts = {"levels": soak_levels, "runs": soak_runs}
    for name, part in parts.items():
        if args.mode not in (name, "both"):
            continue
        root = Path(tempfile.mkdtemp(prefix=f"webplatform-soak-{name}-"))
        try:
            report[name] = await part(args, root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return report


def _parse(argv: list[str]) -> argparse.Namespace:
    default_seconds = float(os.environ.get("WEBPLATFORM_SOAK_SECONDS", "60"))
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=default_seconds, help="per level")
    parser.add_argument(
        "--levels", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 16]
    )
    parser.add_argument("--error-rate", type=float, default=0.05)
    parser.add_argument("--hang-rate", type=float, default=0.01)
    parser.add_argument("--attempt-timeout", type=float, default=5.0)
    parser.add_argument("--rate-limit", type=float, default=50.0)
    parser.add_argument("--circuit-threshold", type=int, default=3)
    parser.add_argument("--failure-cooldown", type=float, default=5.0)
    parser.add_argument("--report", type=Path, default=REPORT)
    parser.add_argument("--mode", choices=("levels", "runs", "both"), default="both")
    parser.add_argument("--runs", type=int, default=240, help="consecutive digest runs")
    parser.add_argument(
        "--run-latency-ms",
        type=lambda s: tuple(float(x) for x in s.split(",")),
        default=(5.0, 20.0),
        help="fake LLM latency range of the consecutive runs (lo,hi)",
    )
    parser.add_argument(
        "--summary-every",
        type=int,
        default=1,
        help="ask telemetry_summary about every Nth consecutive run (0: never)",
    )
    parser.add_argument(
        "--sample-every", type=float, default=60.0, help="seconds between RSS/fd samples"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    """Run the soak and write the report."""
    args = _parse(argv)
    print(
        f"soak ({args.mode}): levels {args.levels}, {args.seconds:g} s each; "
        f"{args.runs} consecutive runs; RSS and fds every {args.sample_every:g} s"
    )
    report = anyio.run(soak, args)
    args.report.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str))
    print(f"report written to {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
