"""The streamable-HTTP server as a real subprocess: metrics, guards, token, binding, SIGTERM."""

import asyncio
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from fastmcp import Client
from prometheus_client import CollectorRegistry, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from starlette.applications import Starlette

from tests.server_process import ServerProcess, running_server
from tests.server_support import seed_samples, structured, structured_result, text_of
from webplatform_digest.container import Container
from webplatform_digest.server.http import (
    bind_socket,
    operational_routes,
    sidecar_app,
    uvicorn_server,
)
from webplatform_digest.settings import load_settings
from webplatform_digest.telemetry.prometheus import render_metrics

TOKEN = "s3cret-token-for-tests"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """An HTTP server without a token over a workspace with the samples."""
    seed_samples(tmp_path)
    env = {"WEBPLATFORM_RATE_LIMIT": "1000", "WEBPLATFORM_LOG_LEVEL": "INFO"}
    with running_server(tmp_path, env) as running:
        yield running


@pytest.fixture
def token_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """An HTTP server that requires a bearer token."""
    seed_samples(tmp_path)
    with running_server(tmp_path, {"WEBPLATFORM_HTTP_TOKEN": TOKEN}) as running:
        yield running


@pytest.mark.e2e
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_clients_of_both_eras_call_tools_and_metrics_parse_back(
    server: ServerProcess, mode: str
) -> None:
    """A FastMCP client over HTTP runs the pipeline; /metrics parses with prometheus_client."""
    async with Client(f"{server.url}/mcp", mode=mode) as client:
        schemas = {t.name: t.output_schema for t in await client.list_tools()}
        processed = await client.call_tool("process_release_notes", {"version": 145})
        areas = await client.call_tool("list_focus_areas", {})
    async with httpx.AsyncClient(base_url=server.url) as http:
        metrics = await http.get("/metrics")
        summary = await http.get("/metrics/summary")
        health = await http.get("/healthz")
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    calls = families["webplatform_digest_tool_calls"]
    ok = {
        s.labels["tool"]: s.value
        for s in calls.samples
        if s.name.endswith("_total") and s.labels.get("outcome") == "ok"
    }
    for name, result in (("process_release_notes", processed), ("list_focus_areas", areas)):
        text = text_of(result.content[0])
        structured_result(schemas[name], result.structured_content, text)
    assert structured(processed.structured_content)["version"] == 145
    assert structured(areas.structured_content)["areas"]
    assert ok["process_release_notes"] == 1
    assert ok["list_focus_areas"] == 1
    assert summary.status_code == 200
    assert isinstance(summary.json(), dict)
    assert health.json() == {"status": "ok"}


@pytest.mark.e2e
async def test_foreign_host_and_origin_are_refused(server: ServerProcess) -> None:
    """DNS-rebinding defence: a foreign Host gets 421, a foreign Origin 403, on every route."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        host = await http.post("/mcp", json=body, headers={"Host": "evil.example"})
        origin = await http.post("/mcp", json=body, headers={"Origin": "http://evil.example"})
        metrics_host = await http.get("/metrics", headers={"Host": "evil.example"})
        local = await http.get("/metrics", headers={"Origin": f"http://localhost:{server.port}"})
    assert host.status_code == 421
    assert origin.status_code == 403
    assert metrics_host.status_code == 421
    assert local.status_code == 200


@pytest.mark.e2e
async def test_the_bearer_token_guards_mcp_and_metrics_but_not_health(
    token_server: ServerProcess,
) -> None:
    """Without the token /mcp and /metrics answer 401; with it a client works."""
    async with httpx.AsyncClient(base_url=token_server.url) as http:
        no_token = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer nope"})
        mcp = await http.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        right = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        health = await http.get("/healthz")
    async with Client(f"{token_server.url}/mcp", auth=TOKEN) as client:
        tools = await client.list_tools()
    assert no_token.status_code == 401
    assert wrong.status_code == 401
    assert mcp.status_code == 401
    assert right.status_code == 200
    assert health.status_code == 200
    assert tools
    assert TOKEN not in token_server.stderr.read_text(encoding="utf-8")


@pytest.mark.e2e
def test_nothing_listens_beyond_loopback(server: ServerProcess) -> None:
    """Every socket the server listens on is bound to 127.0.0.1 (checked with ss)."""
    ss = shutil.which("ss")
    if ss is None:
        listening = [
            c.laddr.ip
            for c in psutil.Process(server.process.pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
    else:
        out = subprocess.run(
            [ss, "-ltnpH"], capture_output=True, text=True, check=True, timeout=10
        ).stdout
        mine = [line for line in out.splitlines() if f"pid={server.process.pid}," in line]
        listening = [line.split()[3].rsplit(":", 1)[0] for line in mine]
    assert listening
    assert set(listening) == {"127.0.0.1"}


@pytest.mark.e2e
def test_sigterm_stops_the_server_cleanly(server: ServerProcess) -> None:
    """SIGTERM: graceful shutdown with lifespan teardown, exit code 0, within seconds."""
    code = server.terminate(timeout=15)
    assert code == 0
    assert "server stopped cleanly" in server.stderr.read_text(encoding="utf-8")


def test_a_shutdown_signal_marks_the_container_stopping_before_requests_end(
    tmp_path: Path,
) -> None:
    """uvicorn's signal handler tells the container first, so cut-short runs stay resumable."""
    container = Container(load_settings(root=tmp_path))
    server = uvicorn_server(Starlette(), on_exit=container.begin_shutdown)
    assert not container.stopping
    server.handle_exit(signal.SIGTERM, None)
    assert container.stopping
    assert server.should_exit


async def test_connections_accepted_on_the_bound_socket_do_not_wait_for_nagle() -> None:
    """asyncio sets TCP_NODELAY on accepted connections (no 40 ms delayed-ACK stall per reply)."""
    loop = asyncio.get_running_loop()
    accepted: asyncio.Future[int] = loop.create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    sock = bind_socket("127.0.0.1", 0)
    server = await loop.create_server(Probe, sock=sock)
    try:
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        nodelay = await asyncio.wait_for(accepted, timeout=10)
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert nodelay != 0


class _ThreadRecordingCollector(Collector):
    """A collector that notes the thread each scrape renders it in."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []

    def collect(self) -> Iterator[Metric]:
        self.threads.append(threading.current_thread())
        return iter(())


async def test_metrics_are_rendered_off_the_event_loop_thread() -> None:
    """A scrape renders the registry in a worker thread, so the loop keeps answering."""
    registry = CollectorRegistry()
    collector = _ThreadRecordingCollector()
    registry.register(collector)

    async def summary() -> dict[str, object]:
        return {}

    routes = operational_routes(lambda accept: render_metrics(registry, accept), summary)
    transport = httpx.ASGITransport(app=sidecar_app(routes, None))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert collector.threads
    assert threading.current_thread() not in collector.threads
