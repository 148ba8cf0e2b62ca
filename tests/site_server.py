"""A real loopback HTTP server that plays the Chrome developer site in tests and benchmarks.

Routes map a path to a scripted answer: a fixture page, an error status, a redirect, a body
that is cut short, a page streamed past any size cap, or an answer that never comes (released
when the server stops). Every request is recorded with its headers, and the most requests
in flight at once is kept in ``max_in_flight``.
"""

import contextlib
import json
import threading
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DATA_DIR = Path(__file__).resolve().parent / "data" / "monitor"


@dataclass(frozen=True)
class ExpectedPage:
    """What a fixture page holds, written by hand (tests/data/monitor/expected.json)."""

    fixture: str
    track: str
    version: int
    path: str
    title: str
    release_date: str
    features: tuple[tuple[str, str, tuple[str, ...]], ...]
    code: tuple[str, ...]

    def features_at(self, base_url: str) -> list[tuple[str, str, tuple[str, ...]]]:
        """(section, title, links) with site-relative links resolved against ``base_url``."""
        return [
            (section, title, tuple(link.replace("{base}", base_url) for link in links))
            for section, title, links in self.features
        ]


def expected_pages() -> list[ExpectedPage]:
    """Every fixture release page with its expected content."""
    raw = json.loads((DATA_DIR / "expected.json").read_text(encoding="utf-8"))
    return [
        ExpectedPage(
            fixture=name,
            track=item["track"],
            version=item["version"],
            path=item["path"],
            title=item["title"],
            release_date=item["release_date"],
            features=tuple((s, t, tuple(links)) for s, t, links in item["features"]),
            code=tuple(item["code"]),
        )
        for name, item in raw.items()
    ]


@dataclass
class Route:
    """How the server answers one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict[str, str])
    #: Content-Length to announce instead of the real one (larger → a truncated body)
    declared_length: int | None = None
    #: answer ``fail_status`` to the first ``fail_times`` requests, then normally
    fail_times: int = 0
    fail_status: int = 500
    #: never answer (until the server stops)
    hang: bool = False
    #: stream this many copies of ``body`` without a Content-Length
    repeat: int = 1
    #: seconds to wait before answering, as a distant server would (benchmarks only)
    latency: float = 0.0


@dataclass(frozen=True)
class Request:
    """One request the server received."""

    path: str
    headers: dict[str, str]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.server, _Server)
        site = self.server.site
        path = urlsplit(self.path).path
        site.record(Request(self.path, {k.lower(): v for k, v in self.headers.items()}))
        route = site.routes.get(path)
        site.enter()
        # the client may give up (size cap, timeout): expected in these scenarios
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(site, route)

    def _answer(self, site: "SiteServer", route: Route | None) -> None:
        if route is None:
            site.leave()
            self._send(404, b"<html><body><h1>Not found</h1></body></html>", "text/html")
            return
        if route.hang:
            site.release.wait(timeout=30)
            site.leave()
            return
        if site.take_failure(route):
            site.leave()
            self._send(route.fail_status, b"<html><body>try again</body></html>", "text/html")
            return
        if route.latency:
            site.release.wait(route.latency)
        site.leave()
        self._send_route(route)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_route(self, route: Route) -> None:
        self.send_response(route.status)
        if route.content_type:
            self.send_header("Content-Type", route.content_type)
        for name, value in route.headers.items():
            self.send_header(name, value)
        if route.repeat == 1:
            length = route.declared_length if route.declared_length is not None else len(route.body)
            self.send_header("Content-Length", str(length))
        self.end_headers()
        for _ in range(route.repeat):
            self.wfile.write(route.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    site: "SiteServer"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are part of the scenarios; nothing to report."""


class SiteServer:
    """The loopback site: ``routes`` by path, ``requests`` as received."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.release = threading.Event()
        self.max_in_flight = 0
        self._in_flight = 0
        self._condition = threading.Condition()
        self._failures: dict[int, int] = {}
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.site = self
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def page(self, path: str, fixture: str, **options: Any) -> Route:
        """Serve a fixture file from tests/data/monitor at ``path``."""
        route = Route(body=(DATA_DIR / fixture).read_bytes(), **options)
        self.routes[path] = route
        return route

    def requests_to(self, path: str) -> list[Request]:
        """Requests received for ``path`` (query ignored)."""
        return [r for r in self.requests if urlsplit(r.path).path == path]

    def record(self, request: Request) -> None:
        """Remember a request (handler threads)."""
        with self._condition:
            self.requests.append(request)

    def take_failure(self, route: Route) -> bool:
        """Whether this request of ``route`` is one of its scripted failures."""
        with self._condition:
            used = self._failures.get(id(route), 0)
            if used < route.fail_times:
                self._failures[id(route)] = used + 1
                return True
            return False

    def enter(self) -> None:
        """Count a request in flight."""
        with self._condition:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def leave(self) -> None:
        """A request stops counting as in flight."""
        with self._condition:
            self._in_flight -= 1

    def _serve(self) -> None:
        # a short poll interval keeps shutdown (and so each test's teardown) quick
        self._server.serve_forever(poll_interval=0.02)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Release hanging answers and shut down."""
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def running_site() -> Generator[SiteServer]:
    """A started ``SiteServer``, stopped on exit."""
    server = SiteServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
