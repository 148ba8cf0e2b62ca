"""A real Prometheus scrapes the real HTTP server during a digest run; promtool lints the scrape."""

import re
from pathlib import Path

import anyio
import httpx
import pytest
from fastmcp import Client

from tests.conftest import require_executable
from tests.server_process import running_server
from tests.server_support import SAMPLE_VERSION, RecordingSampler, seed_samples, structured
from tests.telemetry.prometheus_server import running_prometheus

#: series budget for one workspace after a full run (catalogue-bound labels only)
SERIES_BUDGET = 700


@pytest.mark.e2e
async def test_prometheus_sees_the_runs_llm_attempts_and_promtool_accepts_the_scrape(
    tmp_path: Path,
) -> None:
    """The query API returns exactly the attempts the client answered; lint and cardinality ok."""
    promtool = require_executable("promtool")
    seed_samples(tmp_path / "ws")
    sampler = RecordingSampler()
    with running_server(tmp_path / "ws", {"WEBPLATFORM_RATE_LIMIT": "1000"}) as server:
        with running_prometheus(f"127.0.0.1:{server.port}", tmp_path / "prom") as prometheus:
            async with Client(server.mcp_url, sampling_handler=sampler, mode="legacy") as c:
                await c.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
                run = await c.call_tool("webplatform_digest", {"version": SAMPLE_VERSION})
            seen = await anyio.to_thread.run_sync(
                lambda: prometheus.wait_for_value(
                    "sum(webplatform_digest_llm_attempts_total)",
                    lambda value: value == len(sampler.calls),
                    timeout=60,
                )
            )
        async with httpx.AsyncClient() as http:
            scrape = (await http.get(f"{server.url}/metrics")).text
    lint = await anyio.run_process(
        [promtool, "check", "metrics"], input=scrape.encode(), check=False
    )
    extended = await anyio.run_process(
        [promtool, "check", "metrics", "--extended"], input=scrape.encode(), check=False
    )
    report = extended.stdout.decode()
    total = re.search(r"^Total\s+(\d+)\s", report, re.MULTILINE)
    assert total is not None, report[:2000]
    series = int(total.group(1))
    assert structured(run.structured_content)["status"] == "completed"
    assert seen == len(sampler.calls) > 0
    assert lint.returncode == 0, (lint.stdout + lint.stderr).decode()
    assert 0 < series <= SERIES_BUDGET, report[:2000]
