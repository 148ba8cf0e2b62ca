"""HTTP pieces of the server: bearer-token guard, operational routes, uvicorn runners.

``/metrics`` (Prometheus text), ``/metrics/summary`` (JSON) and ``/healthz`` are served by the
streamable-HTTP app and, in stdio mode, by a loopback side port with the same guards.
"""

import contextlib
import errno
import hmac
import logging
import socket
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from types import FrameType
from typing import Any, Literal

import anyio
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from webplatform_digest.errors import ConfigError

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_exposure(host: str, *, has_token: bool, allow_unauthenticated: bool) -> None:
    """Refuse to serve ``/mcp`` and ``/metrics`` beyond this machine without a bearer token.

    Raises:
        ConfigError: ``host`` is not a loopback address, no token is set and the user did not
            say ``--allow-unauthenticated``.
    """
    loopback = host in LOOPBACK_HOSTS or host.startswith("127.")
    if loopback or has_token or allow_unauthenticated:
        return
    raise ConfigError(
        f"refusing to serve on {host} without WEBPLATFORM_HTTP_TOKEN: anyone on the network "
        "could run tools; set a token or pass --allow-unauthenticated"
    )


MetricsRenderer = Callable[[str], tuple[bytes, str]]
SummaryBuilder = Callable[[], Awaitable[dict[str, Any]]]


class BearerTokenMiddleware:
    """Requires ``Authorization: Bearer <token>`` on protected path prefixes (constant-time)."""

    def __init__(self, app: ASGIApp, token: str, protected: Sequence[str] = ("/mcp", "/metrics")):
        self.app = app
        self._token = token.encode("utf-8")
        self._protected = tuple(protected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._needs_token(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        if self._authorised(scope):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"error": "unauthorized", "detail": "missing or wrong bearer token"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="webplatform-digest"'},
        )
        await response(scope, receive, send)

    def _needs_token(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self._protected)

    def _authorised(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, supplied = value.partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    supplied.strip(), self._token
                )
        return False


class HostGuardMiddleware:
    """Rejects foreign ``Host`` (421) and ``Origin`` (403) headers: DNS-rebinding defence.

    Used for the stdio side port; the MCP HTTP app uses FastMCP's equivalent guard.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str] = LOOPBACK_HOSTS):
        self.app = app
        self._hosts = frozenset(h.lower() for h in allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {
                k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])
            }
            host = _host_only(headers.get("host", ""))
            origin = headers.get("origin")
            if host not in self._hosts:
                await Response("Misdirected Request", status_code=421)(scope, receive, send)
                return
            if origin is not None and _host_only(origin.split("://", 1)[-1]) not in self._hosts:
                await Response("Forbidden Origin", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _host_only(value: str) -> str:
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def operational_routes(render: MetricsRenderer, summary: SummaryBuilder) -> list[Route]:
    """``/metrics``, ``/metrics/summary`` and ``/healthz`` routes."""

    async def metrics(request: Request) -> Response:
        # rendering every series takes tens of milliseconds: off the loop, /healthz stays quick
        body, content_type = await anyio.to_thread.run_sync(
            render, request.headers.get("accept", "")
        )
        return Response(body, media_type=content_type)

    async def metrics_summary(request: Request) -> Response:
        payload = await summary()
        return Response(orjson.dumps(payload), media_type="application/json")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return [
        Route("/metrics", metrics, methods=["GET"]),
        Route("/metrics/summary", metrics_summary, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]


def sidecar_app(routes: list[Route], token: str | None) -> ASGIApp:
    """The stdio-mode side-port app: operational routes behind the host and token guards."""
    app: ASGIApp = Starlette(routes=routes)
    if token:
        app = BearerTokenMiddleware(app, token, protected=("/metrics",))
    return HostGuardMiddleware(app)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 picks a free port) so the real port is known up front."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY on accepted connections only then, and
    # without it every response waits ~40 ms for the client's delayed ACK (Nagle)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = "is already in use" if exc.errno == errno.EADDRINUSE else f"failed: {exc.strerror}"
        raise ConfigError(
            f"cannot listen on {host}:{port}: the address {why} "
            "(choose another with --port or WEBPLATFORM_HTTP_PORT)"
        ) from None
    sock.set_inheritable(True)
    return sock


class _SideServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the process that hosts it."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()


class _MainServer(uvicorn.Server):
    """A uvicorn server that says when SIGTERM/SIGINT starts its graceful shutdown."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)


def uvicorn_server(
    app: ASGIApp,
    *,
    lifespan: Literal["on", "off"] = "on",
    side: bool = False,
    on_exit: Callable[[], None] | None = None,
) -> uvicorn.Server:
    """A uvicorn server that logs to stderr only at warning level (``on_exit``: called when a
    signal starts the shutdown, before in-flight requests are cancelled)."""
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        timeout_graceful_shutdown=5,
        ws="websockets-sansio",
    )
    if side:
        return _SideServer(config)
    return _MainServer(config, on_exit) if on_exit else uvicorn.Server(config)


@contextlib.asynccontextmanager
async def running_sidecar(app: ASGIApp, host: str, port: int) -> AsyncGenerator[int]:
    """Serve ``app`` on a loopback side port for the duration of the context; yields the port."""
    sock = bind_socket(host, port)
    server = uvicorn_server(app, lifespan="off", side=True)
    async with anyio.create_task_group() as tg:
        tg.start_soon(server.serve, [sock])
        try:
            yield sock.getsockname()[1]
        finally:
            server.should_exit = True
    sock.close()
