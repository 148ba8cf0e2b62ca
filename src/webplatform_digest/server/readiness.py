"""What the server builds on first use, and the gate requests that need it wait at.

``initialize`` and ``tools/list`` need nothing of the container, so a server nobody calls
never builds it. The first tool call or resource read warms it: the focus-area catalogue and
the telemetry hooks (metric registry, JSONL log, run registry) are built in a worker thread,
then the write queue, the loop-lag watcher and, with a server-side LLM, the pooled HTTP client
(its TLS trust store) start. Every call and read waits until that is done; the event loop
keeps serving meanwhile, and the last session to end stops it all.
"""

import contextlib
from collections.abc import AsyncGenerator
from typing import Any

import anyio
from fastmcp.exceptions import ResourceError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext

from webplatform_digest.container import Container
from webplatform_digest.errors import WebplatformError
from webplatform_digest.hosting import HostedContext
from webplatform_digest.server.tool_args import tool_errors
from webplatform_digest.startup import keep_loaded
from webplatform_digest.telemetry.loop_lag import watching_loop_lag


def warm_up(container: Container) -> None:
    """Build the container's file-backed services and keep them (blocking: run it in a worker
    thread)."""
    container.prepare()
    keep_loaded()


@contextlib.asynccontextmanager
async def warmed(container: Container) -> AsyncGenerator[None]:
    """The container built, started and watched, for as long as the context is open."""
    await anyio.to_thread.run_sync(warm_up, container)
    async with (
        container.running(),
        watching_loop_lag(lambda event: container.telemetry.emit(event)),
    ):
        if container.settings.llm.base_url is not None:
            # the pooled client loads its TLS trust store (~0.3 s): not on the first call
            await anyio.to_thread.run_sync(lambda: container.http)
        yield


class Readiness:
    """The server's warm-up: begun by the first request that needs it, shared by every
    session over the server (like the container), stopped when the last session ends."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self._sessions = 0
        self._warm: HostedContext[None] | None = None

    def session_started(self) -> None:
        """A session (the server's lifespan) starts: nothing is built yet."""
        self._sessions += 1

    async def wait(self) -> None:
        """Return once the container is warm and started, beginning the warm-up if needed.

        Raises:
            WebplatformError: no session is open, or the warm-up failed (its own error).
        """
        if not self._sessions:
            raise WebplatformError("the server is not running")
        if self._warm is None:
            self._warm = HostedContext(lambda: warmed(self._container))
            self._warm.begin()
        await self._warm.entered()

    async def session_ended(self) -> None:
        """A session ends: the last one stops what the warm-up started (draining writes)."""
        self._sessions = max(0, self._sessions - 1)
        if self._sessions or self._warm is None:
            return
        warm, self._warm = self._warm, None
        await warm.stop()


class WarmUpGate(Middleware):
    """Tool calls and resource reads wait for ``Readiness``; a warm-up that failed is their
    answer (its own message). Listings and prompts never wait."""

    def __init__(self, readiness: Readiness) -> None:
        self._readiness = readiness

    async def on_call_tool(
        self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]
    ) -> Any:
        with tool_errors():
            await self._readiness.wait()
        return await call_next(context)

    async def on_read_resource(
        self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]
    ) -> Any:
        try:
            await self._readiness.wait()
        except WebplatformError as exc:
            raise ResourceError(str(exc)) from exc
        return await call_next(context)
