"""Telemetry summary of a big log: memory growth and time, streamed against loading the whole log.

A ~50 MB ``telemetry.jsonl`` is written with the real JSONL hook from simulated runs (retries,
timeouts, fallbacks, cache and breaker events). Each way of summarising it runs in a fresh
interpreter, which reports its resident memory before the call and its peak after it
(``VmRSS`` / ``VmHWM``), so the growth is the call's alone. The baseline reads every event into
a list first and summarises the list (what the summary did before it streamed).
"""

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import orjson
from tests.telemetry.run_events import simulated_run_events

from webplatform_digest.telemetry.jsonl import JsonlHook

AREAS = tuple(f"area-{i:02d}" for i in range(20))
LOG_BYTES = 50 << 20
TARGET_GROWTH_MIB = 5.0

_PROBE = """
import sys, time, orjson
from pathlib import Path
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.telemetry import jsonl, summary
from webplatform_digest.telemetry.report import summarise_workspace

def status(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0

root, mode = Path(sys.argv[1]), sys.argv[2]
before = status("VmRSS")
started = time.perf_counter()
if mode == "stream":
    result = summarise_workspace(Workspace(root))
else:
    files = jsonl.telemetry_files(jsonl.telemetry_path(Workspace(root)))
    events, _ = jsonl.read_events(files)
    result = summary.summarise_runs(events)
seconds = time.perf_counter() - started
sys.stdout.write(orjson.dumps({
    "growth_mib": status("VmHWM") - before, "seconds": seconds, "events": result["events"],
}).decode())
"""


def _write_log(root: Path) -> int:
    """Write simulated runs through the real hook until the log reaches ``LOG_BYTES``."""
    path = root / ".monitoring" / "telemetry.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    runs = 0
    with JsonlHook(path, max_bytes=1 << 31, backups=0) as hook:
        while not path.exists() or path.stat().st_size < LOG_BYTES:
            for event in simulated_run_events(f"run-{runs:05d}", AREAS):
                hook.handle(event)
            runs += 1
            hook.flush()
    return runs


def _probe(root: Path, mode: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(root), mode],
        capture_output=True,
        check=True,
        timeout=600,
    )
    return orjson.loads(done.stdout)


def run() -> dict[str, Any]:
    """Figures of the summary section."""
    with tempfile.TemporaryDirectory() as raw:
        root = Path(raw)
        runs = _write_log(root)
        size = (root / ".monitoring" / "telemetry.jsonl").stat().st_size
        streamed = _probe(root, "stream")
        loaded = _probe(root, "load")
    assert streamed["events"] == loaded["events"]
    return {
        "log_mib": round(size / (1 << 20), 1),
        "log_runs": runs,
        "log_events": streamed["events"],
        "stream_rss_growth_mib": round(streamed["growth_mib"], 1),
        "load_all_rss_growth_mib": round(loaded["growth_mib"], 1),
        "rss_growth_ratio_stream_vs_load": round(
            streamed["growth_mib"] / max(loaded["growth_mib"], 0.1), 3
        ),
        "rss_growth_target_mib": TARGET_GROWTH_MIB,
        "within_target": streamed["growth_mib"] <= TARGET_GROWTH_MIB,
        "stream_seconds": round(streamed["seconds"], 3),
        "load_all_seconds": round(loaded["seconds"], 3),
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<40} {value}")
