"""The server's event loop during a whole digest: /healthz latency and the loop-lag histogram.

A real HTTP server subprocess writes the digests of one release (Chrome 144 from the corpus, or
the bundled sample) through the OpenAI-compatible backend against the loopback fake LLM at 50 ms
per reply, concurrency 4, no rate limit and no reply cache. Meanwhile a client asks ``/healthz``
every 10 ms. Latency of /healthz idle (before the run) is the floor of the same run; the
target is p99 ≤ 15 ms during the run. The server's own ``event_loop_lag_seconds`` histogram is
read from ``/metrics`` afterwards.
"""

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from fastmcp import Client
from tests.fake_llm import FaultProfile, running_fake_llm

from benchmarks.common import REPO_ROOT, corpus_dir, percentile

READY = re.compile(r"serving MCP on http://127\.0\.0\.1:(\d+)/mcp")
POLL_SECONDS = 0.01
IDLE_POLLS = 300
TARGET_P99_MS = 15.0
LAG_METRIC = "webplatform_digest_event_loop_lag_seconds"


def _seed(root: Path) -> int:
    """Release notes of one version into ``root``; the version."""
    notes = root / "release_notes"
    notes.mkdir(parents=True)
    corpus = corpus_dir()
    if corpus is not None and (corpus / "chrome-144.md").is_file():
        for name in ("chrome-144.md", "webgpu-144.md"):
            if (corpus / name).is_file():
                shutil.copy(corpus / name, notes / name)
        return 144
    samples = REPO_ROOT / "samples" / "release_notes"
    for sample in samples.glob("*.sample.md"):
        shutil.copy(sample, notes / sample.name.replace(".sample", ""))
    return int(re.findall(r"chrome-(\d+)", " ".join(p.name for p in notes.iterdir()))[0])


@contextlib.contextmanager
def _server(root: Path, llm_url: str) -> Iterator[int]:
    env = {
        **os.environ,
        "WEBPLATFORM_LLM_BACKEND": "openai",
        "WEBPLATFORM_LLM_BASE_URL": llm_url,
        "WEBPLATFORM_MAX_CONCURRENCY": "4",
        "WEBPLATFORM_RATE_LIMIT": "1000",
        "WEBPLATFORM_RATE_BURST": "4",
        "WEBPLATFORM_CACHE_ENABLED": "false",
    }
    log = root / "server.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "webplatform_digest", "serve", "--transport", "http"),
                *("--port", "0", "--root", str(root)),
            ],
            stderr=handle,
            stdout=subprocess.DEVNULL,
            env=env,
        )
    try:
        yield _wait_ready(process, log)
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_ready(process: subprocess.Popen[bytes], log: Path) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if match := READY.search(log.read_text(encoding="utf-8")):
            return int(match.group(1))
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=0.02)
            break
    process.kill()
    raise RuntimeError(log.read_text(encoding="utf-8")[-2000:])


async def _poll(http: httpx.AsyncClient, url: str, until: asyncio.Event | int) -> list[float]:
    """Latencies (s) of /healthz every POLL_SECONDS: a fixed count, or until ``until`` is set."""
    latencies: list[float] = []
    while (len(latencies) < until) if isinstance(until, int) else not until.is_set():
        started = time.perf_counter()
        (await http.get(url)).raise_for_status()
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(POLL_SECONDS)
    return latencies


def _lag_histogram(text: str) -> dict[str, float]:
    """Bucket counts (cumulative, by ``le``) and count/sum of the loop-lag histogram."""
    figures: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(f"{LAG_METRIC}_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            figures[le] = float(line.rsplit(" ", 1)[1])
        elif line.startswith((f"{LAG_METRIC}_count ", f"{LAG_METRIC}_sum ")):
            name, value = line.rsplit(" ", 1)
            figures[name.rsplit("_", 1)[1]] = float(value)
    return figures


def _share_over(histogram: dict[str, float], le: str) -> float | None:
    count = histogram.get("count") or 0.0
    return round(1 - histogram.get(le, 0.0) / count, 4) if count else None


async def _measure(port: int, version: int) -> dict[str, Any]:
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(timeout=30) as http, Client(f"{base}/mcp") as client:
        await client.call_tool("process_release_notes", {"version": version})
        idle = await _poll(http, f"{base}/healthz", IDLE_POLLS)
        done = asyncio.Event()
        poller = asyncio.create_task(_poll(http, f"{base}/healthz", done))
        started = time.perf_counter()
        result = await client.call_tool("webplatform_digest", {"version": version})
        wall = time.perf_counter() - started
        done.set()
        busy = await poller
        metrics = (await http.get(f"{base}/metrics")).text
    lag = _lag_histogram(metrics)
    summary = result.structured_content or {}
    return {
        "version": version,
        "digest_wall_s": round(wall, 2),
        "digest_status": summary.get("status"),
        "healthz_idle_p99_ms": round(percentile(idle, 99) * 1e3, 2),
        "healthz_busy_samples": len(busy),
        "healthz_busy_p50_ms": round(percentile(busy, 50) * 1e3, 2),
        "healthz_busy_p99_ms": round(percentile(busy, 99) * 1e3, 2),
        "healthz_busy_max_ms": round(max(busy) * 1e3, 2),
        "healthz_p99_target_ms": TARGET_P99_MS,
        "within_target": percentile(busy, 99) * 1e3 <= TARGET_P99_MS,
        "loop_lag_samples": lag.get("count"),
        "loop_lag_share_over_15ms": _share_over(lag, "0.015"),
        "loop_lag_share_over_50ms": _share_over(lag, "0.05"),
    }


def run() -> dict[str, Any]:
    """Benchmark entry point."""
    with tempfile.TemporaryDirectory(prefix="bench-loop-") as raw:
        root = Path(raw)
        version = _seed(root)
        profile = FaultProfile(latency_ms=(50.0, 50.0))
        with running_fake_llm(profile) as fake, _server(root, fake.base_url) as port:
            return asyncio.run(_measure(port, version))


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<40} {value}")
