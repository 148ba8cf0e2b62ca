"""Governor figures: per-call overhead, rate conformance, retry amplification, fail-fast cost,
and what start-of-run hiccups cost at the default settings.

Overhead and fail-fast latency use real asyncio time (that is what they measure); conformance
and amplification run on the fake clock, so they are exact and take no real waiting.
"""

import asyncio
import contextlib
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import anyio
from tests.fakes import HANG, FakeClock, ScriptedBackend
from tests.llm.support import product_defaults

from benchmarks.common import percentile
from webplatform_digest.configs import governor_config
from webplatform_digest.errors import BackendError, CircuitOpenError, LLMError
from webplatform_digest.events import BreakerTransition, RecordingHook, Telemetry
from webplatform_digest.llm.governor import Governor, GovernorConfig
from webplatform_digest.llm.port import LLMReply, LLMRequest, Message
from webplatform_digest.settings import load_settings

REQUEST = LLMRequest(system="You write digests.", messages=(Message("user", "Summarise CSS."),))
OVERHEAD_CALLS = 20_000


class InstantBackend:
    """Answers at once, without yielding to the event loop."""

    name = "instant"
    model = "instant-model"

    async def complete(self, request: LLMRequest) -> LLMReply:
        """The same reply every time."""
        return LLMReply(text="ok", model=self.model)


async def _timed(call: Callable[[], Awaitable[object]], n: int) -> list[float]:
    samples: list[float] = []
    for _ in range(n):
        start = time.perf_counter()
        with contextlib.suppress(LLMError):
            await call()
        samples.append(time.perf_counter() - start)
    return samples


async def _overhead() -> dict[str, Any]:
    # a rate no benchmark loop can reach: the limiter still runs, it just never waits
    unlimited = GovernorConfig(max_concurrency=8, rate_limit=1e9, rate_burst=100)
    governor = Governor(unlimited, Telemetry())
    backend = InstantBackend()
    await _timed(lambda: governor.call(backend, REQUEST), 2_000)  # warm-up
    governed = await _timed(lambda: governor.call(backend, REQUEST), OVERHEAD_CALLS)
    bare = await _timed(lambda: backend.complete(REQUEST), OVERHEAD_CALLS)
    overhead = statistics.median(governed) - statistics.median(bare)
    return {
        "overhead_median_us": round(overhead * 1e6, 2),
        "overhead_p99_us": round((percentile(governed, 99) - percentile(bare, 99)) * 1e6, 2),
        "overhead_target_us": 100,
        "overhead_within_target": overhead * 1e6 < 100,
    }


async def _fail_fast() -> dict[str, Any]:
    governor = Governor(replace(GovernorConfig(), circuit_threshold=1), Telemetry())
    down = ScriptedBackend(script=lambda r: BackendError("HTTP 503", status=503))
    with contextlib.suppress(LLMError):
        await governor.call(down, REQUEST)
    samples = await _timed(lambda: governor.call(down, REQUEST), 2_000)
    return {
        "fail_fast_p99_us": round(percentile(samples, 99) * 1e6, 2),
        "backend_calls_after_trip": len(down.calls) - 1,
    }


async def _conformance(rate: float, burst: int, callers: int) -> dict[str, Any]:
    clock = FakeClock(0.0)
    config = replace(GovernorConfig(), max_concurrency=8, rate_limit=rate, rate_burst=burst)
    config = replace(config, call_deadline=3600.0, attempt_timeout=3600.0)
    governor = Governor(config, Telemetry(), clock=clock, sleep=clock.sleep)
    admitted: list[float] = []

    def record(request: LLMRequest) -> LLMReply:
        admitted.append(clock())
        return LLMReply(text="ok")

    backend = ScriptedBackend(script=record, clock=clock, latency=0.2)
    async with anyio.create_task_group() as group:
        for _ in range(callers):
            group.start_soon(governor.call, backend, REQUEST)
    ordered = sorted(admitted)
    windows = [sum(1 for t in ordered if s <= t <= s + 1.0) for s in ordered]
    span = ordered[-1] - ordered[0]
    return {
        "max_admits_per_1s": max(windows),
        "limit_plus_burst": rate + burst,
        "measured_rate_per_s": round((len(ordered) - burst) / span, 3) if span else 0.0,
    }


async def _outage(logical: int, threshold: int) -> dict[str, Any]:
    clock = FakeClock(0.0)
    settings = load_settings(circuit_threshold=threshold)
    hook = RecordingHook()
    governor = Governor(
        governor_config(settings), Telemetry((hook,)), clock=clock, sleep=clock.sleep
    )
    down = ScriptedBackend(
        script=lambda r: BackendError("HTTP 503", status=503), clock=clock, latency=0.1
    )

    async def one() -> None:
        with contextlib.suppress(LLMError):
            await governor.call(down, REQUEST)

    async with anyio.create_task_group() as group:
        for _ in range(logical):
            group.start_soon(one)
    probes = sum(
        1 for e in hook.events if isinstance(e, BreakerTransition) and e.to_state == "half_open"
    )
    return {
        "logical_calls": logical,
        "backend_calls": len(down.calls),
        "probes": probes,
        "retry_amplification": round(len(down.calls) / logical, 3),
    }


async def _probes_in_half_open() -> int:
    clock = FakeClock(0.0)
    governor = Governor(
        replace(GovernorConfig(), max_concurrency=10, rate_limit=100.0, rate_burst=10),
        Telemetry(),
        clock=clock,
        sleep=clock.sleep,
    )
    breaker = governor.breaker("scripted")
    for _ in range(3):
        breaker.record(breaker.admit(), BackendError("HTTP 503", status=503))
    await clock.sleep(5.0)
    slow = ScriptedBackend(steps=["ok"] * 10, clock=clock, latency=1.0)

    async def one() -> None:
        with contextlib.suppress(CircuitOpenError):
            await governor.call(slow, REQUEST)

    async with anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(one)
    return len(slow.calls)


async def _hiccup(failing_for: float, *, hang: bool = False) -> dict[str, Any]:
    """28 calls, 4 at a time as a run issues them, default limits; the backend fails (503, or
    hangs) for ``failing_for`` seconds from the start. Failed calls would be fallbacks."""
    clock = FakeClock(0.0)
    governor = Governor(product_defaults(), Telemetry(), clock=clock, sleep=clock.sleep)

    def answer(request: LLMRequest) -> object:
        if clock() >= failing_for:
            return "ok"
        return HANG if hang else BackendError("HTTP 503", status=503)

    backend = ScriptedBackend(script=answer, clock=clock, latency=0.01)
    calls = iter(range(28))
    failed: list[int] = []

    async def worker() -> None:
        for i in calls:
            try:
                await governor.call(backend, REQUEST)
            except LLMError:
                failed.append(i)

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(worker)
    return {
        "failed": len(failed),
        "seconds": round(clock(), 1),
        "backend_calls": len(backend.calls),
    }


async def _all() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    figures |= await _overhead()
    figures |= await _fail_fast()
    for rate, burst in ((5.0, 1), (5.0, 3), (2.0, 1)):
        found = await _conformance(rate, burst, 100)
        figures |= {f"rate_{rate:g}_burst_{burst}_{k}": v for k, v in found.items()}
    guarded = await _outage(20, threshold=3)
    figures |= {f"outage_{k}": v for k, v in guarded.items()}
    unguarded = await _outage(20, threshold=100)
    figures["outage_without_breaker_retry_amplification"] = unguarded["retry_amplification"]
    figures["half_open_probes_admitted_of_10"] = await _probes_in_half_open()
    for seconds in (6.0, 6.5, 12.0, 17.0, 30.0, float("inf")):
        found = await _hiccup(seconds)
        figures |= {f"hiccup_503_for_{seconds:g}_s_{k}": v for k, v in found.items()}
    found = await _hiccup(float("inf"), hang=True)
    figures |= {f"hiccup_hung_for_good_{k}": v for k, v in found.items()}
    return figures


def run() -> dict[str, Any]:
    """All governor figures (a few seconds)."""
    return asyncio.run(_all())


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<48} {value}")
