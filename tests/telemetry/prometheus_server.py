"""A real Prometheus server for end-to-end tests: loopback only, temporary config and storage.

Usage (the target is ``host:port`` of something serving ``/metrics``)::

    with running_prometheus("127.0.0.1:8123", tmp_path) as prometheus:
        value = prometheus.wait_for_value('sum(webplatform_digest_llm_attempts_total)',
                                          lambda v: v >= 40)

Prometheus throttles target discovery to 5 s, so the first sample arrives about 5.5 s after
start; ``wait_for_value`` polls the query API until the expected value shows up (bounded),
never sleeping a fixed time.
"""

import contextlib
import socket
import subprocess
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.conftest import require_executable

POLL_SECONDS = 0.25


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrometheusServer:
    """A running Prometheus and a client for its HTTP API."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    client: httpx.Client

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant-query result vector of ``expr`` (empty while there is no data)."""
        response = self.client.get(f"{self.base_url}/api/v1/query", params={"query": expr})
        response.raise_for_status()
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]["result"]

    def wait_for_value(
        self,
        expr: str,
        predicate: Callable[[float], bool] = lambda _: True,
        timeout: float = 30.0,
    ) -> float:
        """Poll until ``expr`` has one sample whose value satisfies ``predicate``; return it."""
        deadline = time.monotonic() + timeout
        last: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            self._check_alive()
            last = self.query(expr)
            if len(last) == 1 and predicate(float(last[0]["value"][1])):
                return float(last[0]["value"][1])
            time.sleep(POLL_SECONDS)
        raise AssertionError(
            f"{expr!r} did not reach the expected value; last: {last}\n{self.log()}"
        )

    def targets(self) -> list[dict[str, Any]]:
        """The active scrape targets with their health and last error."""
        response = self.client.get(f"{self.base_url}/api/v1/targets")
        response.raise_for_status()
        return response.json()["data"]["activeTargets"]

    def log(self) -> str:
        """The server's log (for failure messages)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]

    def _check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"prometheus exited with {self.process.returncode}\n{self.log()}")


def _config(target: str, metrics_path: str, interval: str, bearer_token: str | None) -> str:
    job: dict[str, Any] = {
        "job_name": "webplatform-digest",
        "metrics_path": metrics_path,
        "static_configs": [{"targets": [target]}],
    }
    if bearer_token:
        job["authorization"] = {"type": "Bearer", "credentials": bearer_token}
    return yaml.safe_dump(
        {
            "global": {
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "evaluation_interval": interval,
            },
            "scrape_configs": [job],
        }
    )


def _wait_ready(server: PrometheusServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        server._check_alive()
        with contextlib.suppress(httpx.TransportError):
            if server.client.get(f"{server.base_url}/-/ready").status_code == 200:
                return
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"prometheus not ready after {timeout} s\n{server.log()}")


@contextlib.contextmanager
def running_prometheus(
    target: str,
    workdir: Path,
    *,
    metrics_path: str = "/metrics",
    scrape_interval: str = "1s",
    bearer_token: str | None = None,
) -> Generator[PrometheusServer]:
    """Start Prometheus on 127.0.0.1 scraping ``target``; stop it (by its pid) afterwards."""
    executable = require_executable("prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(
        _config(target, metrics_path, scrape_interval, bearer_token), encoding="utf-8"
    )
    port = free_port()
    log_path = workdir / "prometheus.log"
    with log_path.open("wb") as log, httpx.Client(trust_env=False, timeout=5.0) as client:
        process = subprocess.Popen(
            [
                executable,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )
        server = PrometheusServer(f"http://127.0.0.1:{port}", process, log_path, client)
        try:
            _wait_ready(server)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
