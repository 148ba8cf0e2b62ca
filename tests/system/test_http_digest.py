"""A full digest over streamable HTTP against a faulty LLM: retries, fallbacks, an outage.

The server is a real subprocess with the OpenAI-compatible backend pointed at the loopback
fake (5 % errors, 1 % hangs, 1 s attempt timeout). A FastMCP client without sampling calls the
tools. Four runs: faults only; faults plus an injected outage that must open the breaker;
after the cooldown, faults only again (its probe closes the breaker); then one more run that
no open breaker touches.
"""

from collections.abc import Iterator
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
    digest_paths,
    flush_telemetry,
    llm_env,
    metric,
    record_figures,
    scrape,
    wait_for_metrics,
)
from webplatform_digest.telemetry.jsonl import read_events, telemetry_files

pytestmark = pytest.mark.system

ATTEMPT_TIMEOUT = 1.0
THRESHOLD = 5
COOLDOWN = 0.5
#: a later run without a model reply for an area keeps its earlier model digest ("kept")
FINAL = {"ok", "retried", "fallback", "kept"}
FAULTS = FaultProfile(latency_ms=(5, 40), error_rate=0.05, hang_rate=0.01, seed=20261124)


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    """The faulty fake LLM."""
    with running_fake_llm(FAULTS) as running:
        yield running


@pytest.fixture
def server(tmp_path: Path, fake: FakeLLM) -> Iterator[ServerProcess]:
    """An HTTP server over the samples whose LLM is the fake."""
    seed_samples(tmp_path)
    env = llm_env(
        fake,
        sampling_timeout=ATTEMPT_TIMEOUT,
        circuit_threshold=THRESHOLD,
        failure_cooldown=COOLDOWN,
    )
    with running_server(tmp_path, env) as running:
        yield running


async def _digest(client: Client[Any]) -> dict[str, Any]:
    result = await client.call_tool(
        "webplatform_digest", {"version": SAMPLE_VERSION, "use_cache": False}
    )
    payload = result.structured_content
    assert payload is not None
    return payload


def _every_area_has_a_digest(summary: dict[str, Any], root: Path) -> None:
    statuses = {lang: s for row in summary["areas"].values() for lang, s in row.items()}
    assert summary["status"] == "completed"
    assert summary["backend"] == "openai"
    assert set(statuses.values()) <= FINAL, summary["areas"]
    for area, row in summary["areas"].items():
        for lang in ("en", "zh"):
            assert row[lang] in FINAL, (area, lang, row)
            path = root / "digest_markdown" / "areas" / area / f"chrome-{SAMPLE_VERSION}-{lang}.md"
            assert path.is_file(), path


async def _outage_until_the_breaker_opens(server: ServerProcess, fake: FakeLLM, after: int) -> None:
    """Start an outage after ``after`` requests; end it once /metrics shows the breaker open."""
    await fake.until(lambda f: f.count >= after, timeout=30)
    fake.start_outage(status=503)
    await wait_for_metrics(server.url, lambda samples: _opens(samples) >= 1, timeout=30)
    fake.end_outage()


def _opens(samples: Any) -> float:
    return metric(
        samples,
        "webplatform_digest_circuit_breaker_transitions_total",
        backend="openai",
        state="open",
    )


def _breaker_events(root: Path) -> list[dict[str, Any]]:
    events, corrupt = read_events(telemetry_files(root / ".monitoring" / "telemetry.jsonl"))
    assert corrupt == 0
    return [e for e in events if e["type"] == "BreakerTransition"]


def _rejected_open(root: Path, run_id: str) -> int:
    events, _ = read_events(telemetry_files(root / ".monitoring" / "telemetry.jsonl"))
    return sum(
        1
        for e in events
        if e["type"] == "LLMAttempt" and e["run_id"] == run_id and e["outcome"] == "rejected_open"
    )


async def test_every_area_ends_with_a_digest_and_the_breaker_opens_only_in_the_outage(
    server: ServerProcess, fake: FakeLLM
) -> None:
    """Faults cost retries or fallbacks, never a missing digest; the breaker trips only while
    the endpoint is down and closes again after; nothing stays in flight."""
    root = server.root
    with anyio.fail_after(150):
        async with Client(server.mcp_url) as client:
            await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
            first = await _digest(client)
            assert _opens(scrape(server.url)) == 0
            second: dict[str, Any] = {}
            async with anyio.create_task_group() as group:
                group.start_soon(_outage_until_the_breaker_opens, server, fake, fake.count + 8)
                second = await _digest(client)
            # an open breaker refuses calls for its cooldown by design; the third run is about
            # what comes after (half-open probe, closed again)
            await anyio.sleep(COOLDOWN)
            third = await _digest(client)
            fourth = await _digest(client)
        await fake.until(lambda f: f.in_flight == 0, timeout=ATTEMPT_TIMEOUT + 10)
    flush_telemetry(server)
    for summary in (first, second, third, fourth):
        _every_area_has_a_digest(summary, root)
    assert check_digests(root) == []
    assert len(digest_paths(root)) == 2 * len(first["areas"])

    (window,) = fake.outages
    assert window.end is not None
    slack = ATTEMPT_TIMEOUT + 1.0  # a timed-out attempt from inside the window lands late
    transitions = _breaker_events(root)
    opened = [e["ts"] for e in transitions if e["to_state"] == "open"]
    assert opened, transitions
    assert all(window.contains(ts, slack) for ts in opened), (window, opened)
    assert transitions[-1]["to_state"] == "closed"
    assert fake.outage_failures >= THRESHOLD
    # half-open admits one probe and refuses the calls beside it (those areas fall back);
    # once the probe has closed the breaker, nothing is refused any more
    assert _rejected_open(root, fourth["run_id"]) == 0

    samples = scrape(server.url)
    assert metric(samples, "webplatform_digest_circuit_breaker_state", backend="openai") == 0
    assert metric(samples, "webplatform_digest_llm_calls_in_flight") == 0
    assert metric(samples, "webplatform_digest_runs_in_progress") == 0
    assert metric(samples, "webplatform_digest_write_queue_depth") == 0
    ok_runs = metric(samples, "webplatform_digest_runs_total", status="completed")
    assert ok_runs == 4
    hangs = fake.outcomes()["hang"]
    # slots are per attempt: a hung request the client gave up on may linger a poll interval
    assert fake.peak_in_flight <= 4 + hangs
    assert server.terminate(timeout=10) == 0
    assert "Traceback" not in server.log()
    record_figures(
        "http_digest",
        {
            "llm_requests": fake.stats(),
            "outage_window_seconds": window.end - window.start,
            "breaker_transitions": [(e["from_state"], e["to_state"]) for e in transitions],
            "fallbacks_per_run": [r["fallbacks"] for r in (first, second, third, fourth)],
            "wall_seconds_per_run": [r["wall_seconds"] for r in (first, second, third, fourth)],
        },
    )
