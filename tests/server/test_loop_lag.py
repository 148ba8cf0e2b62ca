"""The server watches its own event loop while it runs, and stops watching when it stops."""

from pathlib import Path

import anyio
from fastmcp import Client

from tests.server_support import make_server
from webplatform_digest.events import Event, LoopLag

LAG_COUNT = "webplatform_digest_event_loop_lag_seconds_count"


async def test_a_server_in_use_samples_its_loop_lag_into_the_metrics(tmp_path: Path) -> None:
    """Once a call has warmed the server, loop-lag samples reach /metrics' histogram while the
    session is open; none after it ends."""
    server, container = make_server(tmp_path)
    sampled = anyio.Event()
    samples: list[float] = []

    class Hook:
        def handle(self, event: Event) -> None:
            if isinstance(event, LoopLag):
                samples.append(event.seconds)
                sampled.set()

    container.telemetry.add(Hook())
    with anyio.fail_after(5):
        async with Client(server) as client:
            await client.call_tool("list_focus_areas", {})
            await sampled.wait()
    registry = container.prometheus.registry
    assert (registry.get_sample_value(LAG_COUNT) or 0) >= 1
    assert all(lag >= 0 for lag in samples)
    after_stop = len(samples)
    await anyio.sleep(0.3)  # longer than one sampling interval: a leaked watcher would sample
    assert len(samples) == after_stop
