"""Telemetry overhead: a run's events through the Prometheus, JSONL and progress hooks.

* **Non-LLM time of a run**: ``run_digest`` over 20 areas × EN + ZH through the real governor,
  write queue and SQLite run registry, with an instant scripted backend (median wall time).
* **Telemetry cost of that run**: the run's recorded events replayed through the three hooks
  (progress re-emitting ``ProgressWritten`` through the others), minus the replay without hooks,
  in *process CPU time*: it includes the JSONL and progress writer threads (both drained at the
  end of each replay) and excludes waiting for the disk, which happens off the run's path.
* **Eventful stream**: the same for a synthetic run with retries, timeouts, fallbacks, cache
  and breaker events (``tests/telemetry/run_events.py``, ~440 events), against the same time.
* A direct A/B of whole runs with and without hooks (wall time, interleaved) is reported too;
  on a shared machine it is noisy.
"""

import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from prometheus_client import CollectorRegistry
from tests.telemetry.run_events import simulated_run_events

from webplatform_digest.events import Event, RecordingHook, Telemetry
from webplatform_digest.telemetry.jsonl import JsonlHook
from webplatform_digest.telemetry.progress import ProgressFileHook
from webplatform_digest.telemetry.prometheus import PrometheusHook, render_metrics

AREAS = tuple(f"area-{i:02d}" for i in range(20))
TARGET_SHARE = 0.02
REPLAYS = 40


class _Hooks:
    """The three hooks on one Telemetry, writing under ``directory``."""

    def __init__(self, directory: Path, *, prometheus: bool = True, jsonl: bool = True,
                 progress: bool = True) -> None:  # fmt: skip
        self.telemetry = Telemetry()
        self.prometheus = PrometheusHook(CollectorRegistry(), AREAS)
        self.jsonl = JsonlHook(directory / "telemetry.jsonl", max_bytes=10 << 20, backups=3)
        self.progress = ProgressFileHook(
            directory / "progress.json", min_interval=0.5, emit=self.telemetry.emit
        )
        for wanted, hook in ((prometheus, self.prometheus), (jsonl, self.jsonl),
                             (progress, self.progress)):  # fmt: skip
            if wanted:
                self.telemetry.add(hook)

    def drain(self) -> None:
        """Wait until the writer threads have written everything handed to them."""
        self.jsonl.flush()
        self.progress.wait_written()

    def close(self) -> None:
        """Stop the writer threads."""
        self.jsonl.close()
        self.progress.close()


def _replay_cpu(events: list[Event], hooks: _Hooks | None, replays: int = REPLAYS) -> float:
    """Median process CPU seconds to emit ``events`` once (and drain the writers)."""
    telemetry = hooks.telemetry if hooks else Telemetry()
    samples: list[float] = []
    for _ in range(replays):
        started = time.process_time()
        for event in events:
            telemetry.emit(event)
        if hooks:
            hooks.drain()
        samples.append(time.process_time() - started)
    return statistics.median(samples)


def _replay_cost(tmp: Path, events: list[Event], **only: bool) -> float:
    """CPU seconds the hooks add to one run's events."""
    tmp.mkdir(parents=True, exist_ok=True)
    hooks = _Hooks(tmp, **only)
    try:
        return max(0.0, _replay_cpu(events, hooks) - _replay_cpu(events, None))
    finally:
        hooks.close()


def _subjects() -> tuple[Any, ...]:
    from tests.digest_samples import subject

    return tuple(subject(area, [f"Feature {n} of {area}" for n in range(8)]) for area in AREAS)


class _RealRuns:
    """Digest runs in one workspace through the real governor, write queue and run registry,
    with an instant scripted backend; telemetry hooks optional."""

    def __init__(self, root: Path, hooks: _Hooks | None) -> None:
        from tests.digest_samples import good_answer
        from tests.fakes import ScriptedBackend

        from webplatform_digest.runs.event_log import RunRegistryHook
        from webplatform_digest.runs.registry import RunRegistry
        from webplatform_digest.storage.workspace import Workspace

        self.workspace = Workspace.at(root)
        self.registry = RunRegistry(self.workspace.path(Workspace.monitoring_rel("runs.sqlite3")))
        self.recorder = RecordingHook()
        self.telemetry = hooks.telemetry if hooks else Telemetry()
        self.telemetry.add(RunRegistryHook(self.registry))
        self.telemetry.add(self.recorder)
        self.hooks = hooks
        self.subjects = _subjects()
        self.backend = lambda: ScriptedBackend(script=good_answer(self.subjects))
        self.stack = contextlib.AsyncExitStack()
        self.runs = 0

    async def __aenter__(self) -> "_RealRuns":
        from webplatform_digest.llm.governor import Governor, GovernorConfig
        from webplatform_digest.retry import RetryPolicy
        from webplatform_digest.runs.session import RunServices
        from webplatform_digest.storage.queue import WriteQueue

        queue = await self.stack.enter_async_context(
            WriteQueue.open(self.workspace, telemetry=self.telemetry)
        )
        self.services = RunServices(self.workspace, self.registry, queue, self.telemetry)
        config = GovernorConfig(
            max_concurrency=4, rate_limit=1000.0, rate_burst=100, retry=RetryPolicy(attempts=1)
        )
        self.governor = Governor(config, self.telemetry)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stack.aclose()
        self.registry.close()
        if self.hooks:
            self.hooks.close()

    async def once(self) -> float:
        """Wall seconds of one run (JSONL drained at the end when hooks are on)."""
        from tests.digest_samples import plan

        from webplatform_digest.runs.driver import RunLimits, run_digest

        self.runs += 1
        self.recorder.events.clear()
        started = time.perf_counter()
        await run_digest(
            self.services,
            plan(self.subjects, run_id=f"bench-{id(self)}-{self.runs}"),
            self.backend(),
            self.governor,
            limits=RunLimits(max_concurrency=4, run_deadline=600.0),
            use_cache=False,
        )
        if self.hooks:
            self.hooks.jsonl.flush()
        return time.perf_counter() - started


async def _real_runs(tmp: Path, runs: int) -> tuple[float, float, list[Event]]:
    """(median wall without hooks, with hooks, the events of one run), interleaved runs."""
    (tmp / "hooked").mkdir(parents=True)
    times: dict[bool, list[float]] = {False: [], True: []}
    async with (
        _RealRuns(tmp / "bare", None) as bare,
        _RealRuns(tmp / "hooked", _Hooks(tmp / "hooked")) as hooked,
    ):
        await bare.once()  # warm-up: imports, SQLite schema, directories
        await hooked.once()
        for _ in range(runs):  # alternate so load from other processes hits both alike
            times[False].append(await bare.once())
            times[True].append(await hooked.once())
        events = list(bare.recorder.events)
    return statistics.median(times[False]), statistics.median(times[True]), events


def _extras(tmp: Path, events: list[Event]) -> dict[str, Any]:
    tmp.mkdir(parents=True, exist_ok=True)
    hooks = _Hooks(tmp)
    try:
        for _ in range(10):
            for event in events:
                hooks.telemetry.emit(event)
        hooks.drain()
        body, _ = render_metrics(hooks.prometheus.registry)
        started = time.perf_counter()
        for _ in range(20):
            render_metrics(hooks.prometheus.registry)
        render = (time.perf_counter() - started) / 20
    finally:
        hooks.close()
    data = (tmp / "telemetry.jsonl").read_bytes()
    return {
        "jsonl_bytes_per_event": round(len(data) / data.count(b"\n"), 1),
        "progress_writes_per_10_runs": hooks.progress.written,
        "metrics_render_ms": round(render * 1e3, 3),
        "metrics_body_kib": round(len(body) / 1024, 1),
    }


def _jsonl_throughput(tmp: Path, count: int = 100_000) -> float:
    """Events per second the JSONL writer sustains (emit + drain), in wall time."""
    events = simulated_run_events("flood", AREAS)
    with JsonlHook(tmp / "flood.jsonl", max_bytes=1 << 30, backups=0) as hook:
        started = time.perf_counter()
        for i in range(count):
            hook.handle(events[i % len(events)])
            if i % 5000 == 4999:
                hook.flush()  # stay under the queue bound: measure writing, not dropping
        hook.flush()
        elapsed = time.perf_counter() - started
    return count / elapsed


def _us_per_event(seconds: float, events: list[Event]) -> float:
    return round(seconds / len(events) * 1e6, 2)


def _figures(tmp: Path, measure: Callable[..., float], events: list[Event]) -> dict[str, float]:
    return {
        "prometheus_us_per_event": _us_per_event(measure(tmp / "p", events, jsonl=False,
                                                         progress=False), events),
        "jsonl_us_per_event": _us_per_event(measure(tmp / "j", events, prometheus=False,
                                                    progress=False), events),
        "progress_us_per_event": _us_per_event(measure(tmp / "g", events, prometheus=False,
                                                       jsonl=False), events),
    }  # fmt: skip


def _file_work_baseline(tmp: Path) -> float:
    """Fallback denominator: the file work of one run (read 20 area files, write 40 digests)."""
    from webplatform_digest.storage.commit import atomic_write

    tmp.mkdir(parents=True, exist_ok=True)
    samples: list[float] = []
    for n in range(5):
        started = time.perf_counter()
        for area in AREAS:
            for language in ("en", "zh"):
                body = f"# {area} {language} {n}\n".encode() + b"digest text\n" * 340
                atomic_write(tmp / area / f"chrome-144-{language}.md", body)
                (tmp / area / f"chrome-144-{language}.md").read_bytes()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _real_run_figures(tmp: Path) -> tuple[float, dict[str, Any]]:
    """(non-LLM seconds of a run, figures); falls back to the file-work lower bound."""
    try:
        without, with_hooks, events = anyio.run(_real_runs, tmp / "runs", 9)
    except Exception as exc:  # noqa: BLE001 - another module may be mid-change; keep the rest
        baseline = _file_work_baseline(tmp / "files")
        return baseline, {
            "run": f"skipped: {type(exc).__name__}: {exc}"[:160],
            "file_work_lower_bound_ms": round(baseline * 1e3, 2),
        }
    cost = _replay_cost(tmp / "real", events)
    return without, {
        "run_non_llm_ms": round(without * 1e3, 2),
        "run_events": len(events),
        "run_telemetry_cpu_ms": round(cost * 1e3, 3),
        "run_telemetry_share": round(cost / without, 4),
        "run_telemetry_us_per_event": _us_per_event(cost, events),
        "ab_run_ms_with_hooks": round(with_hooks * 1e3, 2),
        "ab_share_noisy": round((with_hooks - without) / without, 4),
    }


def run() -> dict[str, Any]:
    """Figures of the telemetry section."""
    stream = simulated_run_events("bench", AREAS)
    with tempfile.TemporaryDirectory() as raw:
        tmp = Path(raw)
        non_llm, real = _real_run_figures(tmp)
        stream_cost = _replay_cost(tmp / "stream", stream)
        per_hook = _figures(tmp / "each", _replay_cost, stream)
        extras = _extras(tmp / "extras", stream)
        throughput = _jsonl_throughput(tmp)
    shares = [stream_cost / non_llm]
    if "run_telemetry_share" in real:
        shares.append(real["run_telemetry_share"])
    return {
        **real,
        "stream_events": len(stream),
        "stream_telemetry_cpu_ms": round(stream_cost * 1e3, 3),
        "stream_telemetry_share": round(stream_cost / non_llm, 4),
        "stream_telemetry_us_per_event": _us_per_event(stream_cost, stream),
        "share_target": TARGET_SHARE,
        "within_target": max(shares) < TARGET_SHARE,
        **per_hook,
        "jsonl_events_per_second": round(throughput),
        **extras,
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<40} {value}")
