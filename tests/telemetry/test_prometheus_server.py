"""A real Prometheus server scrapes our registry over loopback while a run is in progress."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from tests.telemetry.prometheus_server import running_prometheus
from tests.telemetry.run_events import simulated_run_events
from webplatform_digest.events import LLMAttempt, Telemetry
from webplatform_digest.telemetry.prometheus import PrometheusHook, render_metrics

AREAS = ("css", "javascript", "webgpu", "security", "performance", "media")


def _metrics_server(registry: CollectorRegistry, served: list[str]) -> ThreadingHTTPServer:
    """A tiny loopback HTTP server answering /metrics like the MCP server's route does;
    appends the content type of every scrape it answers to ``served``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/metrics":
                self.send_error(404)
                return
            body, content_type = render_metrics(registry, self.headers.get("Accept", ""))
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            served.append(content_type)

        def log_message(self, format: str, *args: object) -> None:
            """Keep scrapes out of the test output."""

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@pytest.fixture
def served_registry() -> Iterator[tuple[CollectorRegistry, str, list[str]]]:
    """A registry served on a loopback port: (registry, host:port, content types served)."""
    registry = CollectorRegistry()
    served: list[str] = []
    server = _metrics_server(registry, served)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield registry, f"{host!s}:{port}", served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.e2e
@pytest.mark.timeout(90)
def test_prometheus_scrapes_the_llm_attempt_count_of_a_run_in_progress(
    served_registry: tuple[CollectorRegistry, str, list[str]], tmp_path: Path
) -> None:
    """Prometheus (OpenMetrics scrape, with exemplars) sees the first half of a run, then all
    of it: its query API returns the run's LLM attempt count."""
    registry, target, served = served_registry
    telemetry = Telemetry((PrometheusHook(registry, AREAS),))
    events = simulated_run_events("run-e2e", AREAS)
    half = len(events) // 2
    expected = [sum(isinstance(e, LLMAttempt) for e in part) for part in (events[:half], events)]
    for event in events[:half]:
        telemetry.emit(event)
    with running_prometheus(target, tmp_path / "prometheus") as prometheus:
        query = 'sum(webplatform_digest_llm_attempts_total{backend="openai"})'
        assert prometheus.wait_for_value(query, lambda v: v == expected[0]) == expected[0]
        for event in events[half:]:
            telemetry.emit(event)
        assert prometheus.wait_for_value(query, lambda v: v == expected[1]) == expected[1]
        assert prometheus.wait_for_value('up{job="webplatform-digest"}') == 1.0
        [health] = [t["health"] for t in prometheus.targets()]
        assert health == "up"
        completed = 'webplatform_digest_runs_total{status="completed"}'
        assert prometheus.wait_for_value(completed, lambda v: v == 1.0) == 1.0
    assert served
    assert all(c.startswith("application/openmetrics-text") for c in served)
