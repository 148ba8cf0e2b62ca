"""The container's lifecycle: services that own tasks or sockets, shared by reference count.

The write queue and the deferred-write group live in a host task of their own between the
first ``start()`` and the last ``aclose()`` (MCP lifespans may enter and leave from different
tasks); the pooled HTTP client and the facades bound to it (backends, monitors) are made on
first use while started and dropped when the last user leaves. Several MCP sessions (or
in-memory test clients) can share one host.
"""

import contextlib
from collections.abc import AsyncGenerator, Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import anyio

from webplatform_digest.errors import WebplatformError
from webplatform_digest.hosting import HostedContext

if TYPE_CHECKING:
    import httpx

    from webplatform_digest.runs.deferred import DeferredWrites
    from webplatform_digest.storage.queue import WriteQueue

T = TypeVar("T")


class HostedServices(NamedTuple):
    """What the host task keeps open."""

    write_queue: "WriteQueue"
    deferred: "DeferredWrites"


class ServiceHost:
    """Start on the first user, stop on the last; hand out the running services meanwhile."""

    def __init__(
        self,
        open_services: Callable[[], AbstractAsyncContextManager[HostedServices]],
        *,
        new_http_client: Callable[[], "httpx.AsyncClient"],
        on_stopped: Callable[[], None],
    ) -> None:
        self._services = HostedContext(open_services)
        self._new_http_client = new_http_client
        self._on_stopped = on_stopped
        self._users = 0
        self._lock = anyio.Lock()
        self._running: HostedServices | None = None
        self._http: httpx.AsyncClient | None = None
        # backends and monitors bound to the running HTTP client and write queue
        self._facades: dict[tuple[str, str | None], Any] = {}
        self._stopping = False

    @property
    def write_queue(self) -> "WriteQueue":
        """The single writer of the workspace (only while started)."""
        if self._running is None:
            raise WebplatformError("the write queue is not running (container not started)")
        return self._running.write_queue

    @property
    def deferred(self) -> "DeferredWrites | None":
        """The group of writes finished after their run returned (None when not started)."""
        return None if self._running is None else self._running.deferred

    @property
    def http(self) -> "httpx.AsyncClient":
        """The pooled HTTP client, made on first use (only while started)."""
        if self._users == 0:
            raise WebplatformError("the HTTP client is not running (container not started)")
        if self._http is None:
            self._http = self._new_http_client()
        return self._http

    def bound(self, key: tuple[str, str | None], build: Callable[[], T]) -> T:
        """The facade ``key`` for this started lifetime, built on first use."""
        if key not in self._facades:
            self._facades[key] = build()
        facade: T = self._facades[key]
        return facade

    @property
    def stopping(self) -> bool:
        """Whether ``begin_shutdown`` was called."""
        return self._stopping

    def begin_shutdown(self) -> None:
        """The process is stopping: runs cancelled from now on are left interrupted."""
        self._stopping = True

    async def start(self) -> None:
        """Open the hosted services (first user only)."""
        async with self._lock:
            self._users += 1
            if self._users > 1:
                return
            try:
                self._running = await self._services.start()
            except BaseException:
                self._users -= 1
                raise

    async def aclose(self) -> None:
        """Stop the services when the last user leaves (draining writes), then ``on_stopped``."""
        async with self._lock:
            self._users = max(0, self._users - 1)
            if self._users:
                return
            with anyio.CancelScope(shield=True):
                await self._services.stop()
                self._running = None
                self._facades.clear()
                if self._http is not None:
                    http, self._http = self._http, None
                    await http.aclose()
                self._on_stopped()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncGenerator[None]:
        """``start()`` … ``aclose()`` as a context manager."""
        await self.start()
        try:
            yield
        finally:
            await self.aclose()
