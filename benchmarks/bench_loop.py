"""The server's event loop during a whole digest: /healthz latency and the loop-lag histogram.

A real HTTP server subprocess writes the digests of one release (Chrome 144 from the corpus, or
the bundled sample) through the OpenAI-compatible backend against the loopback fake LLM at 50 ms
per reply, concurrency 4, no rate limit and no reply cache. Meanwhile a client asks ``/healthz``
every 10 ms. Latency of /healthz idle (before the run) is the floor of the same run; the
target is p99 ≤ 15 ms during the run. The server's own ``event_loop_lag_seconds`` histogram is
read from ``/metrics`` afterwards.

The poller is a process of its own (a blocking keep-alive connection): polled from this
process, a sample would also wait for this process's own work (the MCP client parsing the run's
result, the fake LLM's thread), which is not the server's loop.
"""

import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import httpx
from fastmcp import Client
from tests.fake_llm import FaultProfile, running_fake_llm

from benchmarks.common import REPO_ROOT, copy_notes, corpus_dir, percentile

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
        copy_notes(corpus, root, (144,))
        return 144
    samples = REPO_ROOT / "samples" / "release_notes"
    for sample in samples.glob("*.sample.md"):
        shutil.copy(sample, notes / sample.name.replace(".sample", ""))
    return int(re.findall(r"chrome-(\d+)", " ".join(p.name for p in notes.iterdir()))[0])


@contextlib.contextmanager
def _server(root: Path, llm_url: str) -> Generator[int]:
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


def poll(port: int, count: int | None) -> list[float]:
    """Latencies (s) of /healthz every POLL_SECONDS: ``count`` of them, or until stdin closes."""
    stop = threading.Event()
    if count is None:
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    while (len(latencies) < count) if count is not None else not stop.is_set():
        started = time.perf_counter()
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"/healthz answered {response.status}")
        latencies.append(time.perf_counter() - started)
        time.sleep(POLL_SECONDS)
    connection.close()
    return latencies


async def _poll_elsewhere(port: int, count: int | None = None) -> "_Poller":
    """A poller process (``count`` samples, or until :meth:`_Poller.stop`)."""
    args = [sys.executable, "-m", "benchmarks.bench_loop", "--poll", str(port)]
    process = await asyncio.create_subprocess_exec(
        *args, *([str(count)] if count is not None else []),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO_ROOT,
    )  # fmt: skip
    return _Poller(process)


class _Poller:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    async def started(self) -> None:
        """Wait for the first sample (the poller has imported and connected)."""
        assert self._process.stdout is not None
        await self._process.stdout.readline()

    async def stop(self) -> list[float]:
        """Stop polling; the latencies."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        out, _ = await self._process.communicate()
        if self._process.returncode != 0:
            raise RuntimeError(f"the /healthz poller failed ({self._process.returncode})")
        return json.loads(out)


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
    async with httpx.AsyncClient(timeout=30) as web, Client(f"{base}/mcp") as client:
        await client.call_tool("process_release_notes", {"version": version})
        idle = await (await _poll_elsewhere(port, IDLE_POLLS)).stop()
        poller = await _poll_elsewhere(port)
        await poller.started()
        started = time.perf_counter()
        result = await client.call_tool("webplatform_digest", {"version": version})
        wall = time.perf_counter() - started
        busy = await poller.stop()
        metrics = (await web.get(f"{base}/metrics")).text
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


def _poller_main(port: int, count: int | None) -> None:
    if count is None:
        poll(port, 1)  # imported and connected: say so, then poll until told to stop
        sys.stdout.write("started\n")
        sys.stdout.flush()
    sys.stdout.write(json.dumps(poll(port, count)))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--poll"]:
        _poller_main(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else None)
    else:
        for key, value in run().items():
            print(f"{key:<40} {value}")
