"""The MCP server: ``create_server(container) -> FastMCP`` and the process entry points.

Tool bodies are thin: validate arguments, call one domain function, return a structured result.
Domain errors (``WebplatformError``) become ``ToolError``s with their actionable text; anything
else is logged to stderr with its traceback and masked in the result.

Start-up is kept to what ``initialize`` and ``tools/list`` need: the tool signatures. Each tool
imports its implementation off the event loop on its first call (``server/lazy.py``), and the
container is warmed and started, in a worker thread, by the first call or read that needs it
(``server/readiness.py``).
"""

import contextlib
import importlib
import logging
import signal
import socket
import sys
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.exceptions import ValidationError as ArgumentsInvalid
from fastmcp.server.lifespan import lifespan
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from pydantic import Field, ValidationError

from webplatform_digest import __version__
from webplatform_digest.container import Container
from webplatform_digest.errors import WebplatformError
from webplatform_digest.events import ToolCalled
from webplatform_digest.hosting import HostedContext
from webplatform_digest.models import parse_channel, parse_version
from webplatform_digest.server.availability import availability_middleware, availability_note
from webplatform_digest.server.catalog import TOOL_NAMES, register_tool
from webplatform_digest.server.digest_tools import register_digest_tools
from webplatform_digest.server.http import (
    LOOPBACK_HOSTS,
    BearerTokenMiddleware,
    bind_socket,
    check_exposure,
    operational_routes,
    running_sidecar,
    sidecar_app,
    uvicorn_server,
)
from webplatform_digest.server.lazy import load
from webplatform_digest.server.readiness import Readiness, WarmUpGate
from webplatform_digest.server.resources import register_prompts, register_resources
from webplatform_digest.server.results import (
    FetchResult,
    FocusArea,
    FocusAreas,
    LatestReleases,
    PagesResult,
    ProcessOutcome,
    TelemetryOutcome,
    process_all_result,
    process_result,
    telemetry_result,
)
from webplatform_digest.server.search_tools import register_search
from webplatform_digest.server.tool_args import (
    ChannelArg,
    LanguageArg,
    OptionalVersion,
    Version,
    plain_argument_error,
    tool_errors,
)
from webplatform_digest.settings import Settings, load_settings
from webplatform_digest.startup import long_lived_startup
from webplatform_digest.storage.workspace import Workspace

if TYPE_CHECKING:
    from webplatform_digest.monitor.tracker import ReleaseMonitor

log = logging.getLogger(__name__)

SERVER_NAME = "webplatform-digest"
PROCESS = "webplatform_digest.services.process"
PAGES = "webplatform_digest.services.pages"
MONITOR = "webplatform_digest.monitor.tracker"
INSTRUCTIONS = (
    "Turns Chrome web-platform release notes into per-focus-area digests in English and "
    "Chinese and publishes them as a GitHub Pages site. Typical flow: check_latest_releases → "
    "fetch_release_notes → process_release_notes → webplatform_digest → generate_github_pages."
)
#: what fastmcp imports on its first request (schema dereferencing, the session-state store):
#: ~0.2 s of imports that would otherwise delay the first ``tools/list`` answer, so ``serve``
#: loads them before it answers anything
FIRST_REQUEST_MODULES = (
    "jsonref",
    "key_value.aio.adapters.pydantic",
    "key_value.aio.stores.memory",
    "fastmcp.server.providers.prefab_synthesis",
)


class ToolTelemetry(Middleware):
    """Emits ``ToolCalled`` (tool, outcome, seconds) for every ``tools/call``."""

    def __init__(self, container: Container) -> None:
        self._container = container

    async def on_call_tool(self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]):
        name = str(getattr(context.message, "name", ""))
        label = name if name in TOOL_NAMES else "other"
        clock = self._container.clock
        started, outcome = clock(), "error"
        try:
            result = await call_next(context)
            outcome = "error" if getattr(result, "is_error", False) else "ok"
            return result
        except ArgumentsInvalid as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            raise plain_argument_error(cause) from None
        finally:
            self._container.telemetry.emit(
                ToolCalled(tool=label, outcome=outcome, seconds=clock() - started)
            )


def load_first_request_modules() -> None:
    """Import what fastmcp imports on its first request (blocking)."""
    for name in FIRST_REQUEST_MODULES:
        importlib.import_module(name)


def create_server(container: Container, *, metrics_sidecar: bool = False) -> FastMCP:
    """The FastMCP server over one container (tools, resources, prompts, HTTP routes)."""
    readiness = Readiness(container)

    @lifespan
    async def services(server: FastMCP) -> AsyncIterator[dict[str, Any]]:
        readiness.session_started()  # the container is warmed by the first call that needs it
        try:
            async with _metrics_side_port(container, metrics_sidecar) as context:
                yield {"container": container, **context}
        finally:
            await readiness.session_ended()

    refusals = availability_middleware(container)
    mcp = FastMCP(
        SERVER_NAME,
        version=__version__,
        instructions=" ".join((INSTRUCTIONS, availability_note(container))).strip(),
        lifespan=services,
        # calls wait for the warm-up before anything else, their telemetry included
        middleware=[WarmUpGate(readiness), ToolTelemetry(container), *refusals],
        mask_error_details=True,
    )
    _register_pipeline_tools(mcp, container)
    register_digest_tools(mcp, container)
    _register_monitor_tools(mcp, container)
    _register_ops_tools(mcp, container)
    register_search(mcp, container)
    register_resources(mcp, container)
    register_prompts(mcp)
    for route in _routes(container):
        mcp.custom_route(route.path, methods=["GET"])(route.endpoint)
    return mcp


def _register_pipeline_tools(mcp: FastMCP, container: Container) -> None:
    @register_tool(mcp, "process_release_notes")
    async def process_release_notes(
        version: OptionalVersion = None,
        channel: ChannelArg = "stable",
        all: Annotated[bool, Field(description="Process every release note present")] = False,
    ) -> ProcessOutcome:
        """Parse a Chrome release note (release_notes/chrome-<v>.md, plus webgpu-<v>.md if
        present), classify every feature into focus areas and write per-area YAML under
        processed/areas/. Fast (milliseconds); unchanged input rewrites nothing. Run it before
        webplatform_digest. Give `version`, or `all=true` for every note in the workspace."""
        await load(PROCESS)
        from webplatform_digest.services.process import process_all, process_release

        with tool_errors():
            if all:
                summaries = await process_all(
                    container.workspace,
                    container.catalog,
                    writer=container.write_queue,
                    telemetry=container.telemetry,
                )
                return process_all_result([s.to_json() for s in summaries])
            if version is None:
                raise ToolError("give a version (e.g. 144) or all=true")
            summary = await process_release(
                container.workspace,
                container.catalog,
                parse_version(version),
                parse_channel(channel),
                writer=container.write_queue,
                telemetry=container.telemetry,
            )
            return process_result(summary.to_json())

    @register_tool(mcp, "generate_github_pages")
    async def generate_github_pages(
        version: OptionalVersion = None,
        language: LanguageArg = None,
        html: Annotated[bool, Field(description="Also render a static HTML preview")] = False,
    ) -> PagesResult:
        """Build the GitHub Pages (Jekyll) site under digest_markdown/ from the digests on disk:
        index, version and area navigation in both languages. With html=true also writes a
        standalone HTML preview under site/. Written as one batch; unchanged pages are not
        rewritten. Takes well under a second."""
        await load(PAGES)
        from webplatform_digest.services.pages import generate_pages

        with tool_errors():
            summary = await generate_pages(
                container.workspace,
                container.catalog,
                container.write_queue,
                version=version,
                language=language,
                html=html or container.settings.pages.html_preview,
                telemetry=container.telemetry,
            )
            return PagesResult.model_validate(summary.to_json())

    @register_tool(mcp, "list_focus_areas")
    async def list_focus_areas() -> FocusAreas:
        """List the focus areas features are classified into (id, English and Chinese names,
        description). Use these ids in webplatform_digest(focus_areas=[...])."""
        with tool_errors():
            return FocusAreas(
                areas=[
                    FocusArea(
                        id=area.id,
                        name=area.name,
                        name_zh=area.name_zh,
                        description=area.description,
                    )
                    for area in container.catalog.areas
                ]
            )


def _register_monitor_tools(mcp: FastMCP, container: Container) -> None:
    building = anyio.Lock()

    async def monitor() -> "ReleaseMonitor":
        # the first one imports the monitor and makes the pooled HTTP client (its TLS trust
        # store, ~0.3 s): in a worker thread, one at a time
        await load(MONITOR)
        async with building:
            return await anyio.to_thread.run_sync(container.monitor)

    @register_tool(mcp, "check_latest_releases")
    async def check_latest_releases(
        channel: Annotated[
            Literal["stable", "beta", "webgpu", "all"], Field(description="Which track")
        ] = "all",
    ) -> LatestReleases:
        """Find the newest Chrome stable and beta release notes and the newest WebGPU post on
        the Chrome developer site, and say which are already in the workspace. Network access;
        a few seconds."""
        with tool_errors():
            latest = await (await monitor()).check_latest(channel)
            return LatestReleases.model_validate(latest.to_dict())

    @register_tool(mcp, "fetch_release_notes")
    async def fetch_release_notes(
        version: Version,
        channel: Annotated[
            Literal["stable", "beta", "webgpu"], Field(description="Which note")
        ] = "stable",
        force: Annotated[bool, Field(description="Download again even if present")] = False,
    ) -> FetchResult:
        """Download one release note from the Chrome developer site, convert it to markdown and
        save it under release_notes/ (chrome-<v>.md, chrome-<v>-beta.md or webgpu-<v>.md).
        Nothing is written if the download fails. Then call process_release_notes."""
        with tool_errors():
            tracker = await monitor()
            result = await tracker.fetch_release_notes(version, channel, force=force)
            return FetchResult.model_validate(result.to_dict())


def _register_ops_tools(mcp: FastMCP, container: Container) -> None:
    @register_tool(mcp, "telemetry_summary")
    async def telemetry_summary(
        since: Annotated[
            str | None, Field(max_length=40, description="e.g. 1h, 30m, 2d or an ISO time")
        ] = None,
        run_ids: Annotated[
            list[Annotated[str, Field(max_length=64)]] | None,
            Field(max_length=2, description="One run, or two to compare (before, after)"),
        ] = None,
    ) -> TelemetryOutcome:
        """Latency percentiles per stage and language, failure / timeout / retry / fallback /
        cache-hit rates, LLM calls per run and the slowest areas, from the workspace's
        telemetry; with two run ids, a before/after comparison."""
        with tool_errors():
            summary = await anyio.to_thread.run_sync(
                lambda: _fresh_summary(container, since, tuple(run_ids or ()))
            )
            return telemetry_result(summary)


def _routes(container: Container) -> list[Any]:
    def render(accept: str) -> tuple[bytes, str]:  # in a worker thread
        from webplatform_digest.telemetry.prometheus import render_metrics

        return render_metrics(container.prometheus.registry, accept)

    async def summary() -> dict[str, Any]:
        return await anyio.to_thread.run_sync(lambda: _fresh_summary(container, None, ()))

    return operational_routes(render, summary)


def _fresh_summary(
    container: Container, since: str | None, runs: tuple[str, ...]
) -> dict[str, Any]:
    """The telemetry summary including every event emitted so far (blocking: run in a thread)."""
    from webplatform_digest.telemetry.report import summarise_workspace

    container.flush_telemetry()
    container.runs.recover_interrupted()  # killed or abandoned runs are not "running" forever
    return summarise_workspace(container.workspace, since, runs, statuses=container.runs.statuses)


@contextlib.asynccontextmanager
async def _metrics_side_port(container: Container, wanted: bool) -> AsyncGenerator[dict[str, Any]]:
    """In stdio mode with ``WEBPLATFORM_METRICS_PORT``: /metrics on a loopback side port."""
    port = container.settings.telemetry.metrics_port
    if not (wanted and port is not None):
        yield {}
        return
    side = HostedContext(lambda: running_sidecar(_sidecar(container), "127.0.0.1", port))
    bound = await side.start()
    log.info("metrics side port listening on 127.0.0.1:%d", bound)
    try:
        yield {"metrics_port": bound}
    finally:
        await side.stop()


def _sidecar(container: Container) -> Any:
    token = container.settings.http.token
    return sidecar_app(_routes(container), token.get_secret_value() if token else None)


# Entry points ------------------------------------------------------------------------------


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.telemetry.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    # fastmcp logs through a handler of its own at INFO; hold it to our level too
    logging.getLogger("fastmcp").setLevel(settings.telemetry.log_level)


def main() -> None:
    """``python fast_mcp_server.py``: the stdio server for MCP hosts (settings from env)."""
    try:
        code = serve(load_settings(), transport="stdio")
    except WebplatformError as exc:
        sys.stderr.write(f"webplatform-digest: {exc}\n")
        raise SystemExit(exc.exit_code) from None
    raise SystemExit(code)


def serve(
    settings: Settings,
    *,
    transport: str = "stdio",
    host: str | None = None,
    port: int | None = None,
    allow_unauthenticated: bool = False,
) -> int:
    """Run the server until stdin closes (stdio) or SIGTERM/SIGINT (HTTP). Returns exit code.

    Raises:
        ConfigError: the HTTP address is exposed without a token or cannot be listened on, or
            a focus-area file is malformed.
    """
    _configure_logging(settings)
    bind_host = host or settings.http.host
    sock = (
        None if transport == "stdio" else _listen(settings, bind_host, port, allow_unauthenticated)
    )
    container = Container(settings)
    try:
        with long_lived_startup():
            server = build_server(container, metrics_sidecar=sock is None)
        if sock is None:
            anyio.run(_serve_stdio, server)
        else:
            # SIGTERM ends the HTTP server like Ctrl-C: uvicorn shuts down gracefully (lifespan
            # teardown included), then re-raises it here as KeyboardInterrupt
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            anyio.run(_serve_http, server, container, bind_host, sock)
    except KeyboardInterrupt:
        log.info("stopped by signal")
    finally:
        container.close()
        if sock is not None:
            sock.close()
    log.info("server stopped cleanly")
    return 0


def build_server(container: Container, *, metrics_sidecar: bool) -> FastMCP:
    """The server as ``serve`` runs it, ready to answer its first ``tools/list`` at once.

    Raises:
        ConfigError: a focus-area file of the workspace is malformed.
    """
    if container.workspace.path(Workspace.FOCUS_AREAS).is_dir():
        # a malformed focus-area file stops the server here, before it says it serves (the
        # shipped catalogue alone is compiled by the first call)
        container.catalog  # noqa: B018
    server = create_server(container, metrics_sidecar=metrics_sidecar)
    load_first_request_modules()
    return server


def _listen(
    settings: Settings, host: str, port: int | None, allow_unauthenticated: bool
) -> socket.socket:
    """The HTTP listening socket, bound before anything starts (a busy port is one line)."""
    check_exposure(
        host,
        has_token=settings.http.token is not None,
        allow_unauthenticated=allow_unauthenticated,
    )
    return bind_socket(host, settings.http.port if port is None else port)


async def _serve_stdio(server: FastMCP) -> None:
    await server.run_stdio_async(show_banner=False)


async def _serve_http(
    server: FastMCP, container: Container, host: str, sock: socket.socket
) -> None:
    app = http_app(server, container.settings, host)
    log.warning("serving MCP on http://%s:%d/mcp", host, sock.getsockname()[1])
    # runs cut short by the shutdown are then left interrupted (resumable), not cancelled
    await uvicorn_server(app, on_exit=container.begin_shutdown).serve([sock])


def http_app(server: FastMCP, settings: Settings, host: str) -> Any:
    """The streamable-HTTP ASGI app with Host/Origin protection and the optional token."""
    hosts = [*LOOPBACK_HOSTS, *settings.http.allowed_hosts]
    if host not in hosts and host not in ("0.0.0.0", "::"):
        hosts.append(host)
    middleware: list[Any] = []
    if settings.http.token is not None:
        from starlette.middleware import Middleware as StarletteMiddleware

        middleware.append(
            StarletteMiddleware(BearerTokenMiddleware, token=settings.http.token.get_secret_value())
        )
    return server.http_app(
        path="/mcp",
        middleware=middleware,
        host_origin_protection=True,
        allowed_hosts=hosts,
        allowed_origins=list(settings.http.allowed_origins) or None,
    )
