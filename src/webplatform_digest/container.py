"""The composition root: one ``Container`` per process builds the shared services lazily.

Tools and CLI commands never construct these per call and never re-read configuration: they
ask the container. Building the container costs nothing and importing it little: each service
is made, and its module imported, on first use (startup does no corpus scan), from value
configs mapped out of ``Settings`` by ``configs``.
Services that own tasks or sockets (write queue, HTTP client) live between ``start()`` and
``aclose()``; that lifecycle is the ``ServiceHost``'s, the container only delegates to it.
"""

import contextlib
import importlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING

import anyio

from webplatform_digest import __version__
from webplatform_digest.clock import Clock, monotonic
from webplatform_digest.events import Telemetry
from webplatform_digest.service_host import HostedServices, ServiceHost
from webplatform_digest.settings import Settings
from webplatform_digest.storage.access import write_refusal
from webplatform_digest.storage.workspace import Workspace

if TYPE_CHECKING:
    import httpx

    from webplatform_digest.areas.classify import FocusAreaManager
    from webplatform_digest.llm.governor import Governor
    from webplatform_digest.llm.openai_compat import OpenAICompatBackend
    from webplatform_digest.monitor.tracker import ReleaseMonitor
    from webplatform_digest.runs.registry import RunRegistry
    from webplatform_digest.runs.session import RunServices
    from webplatform_digest.storage.area_store import AreaStore
    from webplatform_digest.storage.queue import WriteQueue
    from webplatform_digest.telemetry.jsonl import JsonlHook
    from webplatform_digest.telemetry.progress import ProgressFileHook
    from webplatform_digest.telemetry.prometheus import PrometheusHook

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
#: what ``_open_services`` imports (``prepare`` loads it off the event loop)
_START_MODULES = (
    "webplatform_digest.configs",
    "webplatform_digest.runs.deferred",
    "webplatform_digest.storage.queue",
)
USER_AGENT = f"webplatform-digest/{__version__}"


class Container:
    """Lazily built, process-wide services for one workspace."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = monotonic,
        sleep: Sleep = anyio.sleep,
        jsonl: bool = True,
        metrics: bool = True,
    ) -> None:
        self.settings = settings
        # batch commands never serve /metrics: skipping the registry spares them its import
        self._metrics_enabled = metrics
        self.clock = clock
        self.sleep = sleep
        self._jsonl_enabled = jsonl
        self._host = ServiceHost(
            self._open_services, new_http_client=self._new_http_client, on_stopped=self._flush_files
        )

    # Pure or file-backed services (no tasks) -----------------------------------------------

    @cached_property
    def workspace(self) -> Workspace:
        """The workspace root."""
        return Workspace.at(self.settings.workspace.root)

    @cached_property
    def catalog(self) -> "FocusAreaManager":
        """The focus-area catalogue (shipped defaults + the workspace's ``focus_areas/``)."""
        from webplatform_digest.storage.area_store import load_catalog

        return load_catalog(self.workspace)

    @cached_property
    def prometheus(self) -> "PrometheusHook":
        """The metric catalogue on this container's own registry."""
        from webplatform_digest.telemetry.prometheus import new_prometheus_hook

        return new_prometheus_hook(self.catalog.ids)

    @cached_property
    def jsonl(self) -> "JsonlHook | None":
        """The JSONL event log (``.monitoring/telemetry.jsonl``); none in a read-only workspace."""
        if not self._jsonl_enabled or self.read_only:
            return None
        from webplatform_digest.telemetry.jsonl import JsonlHook, telemetry_path

        return JsonlHook(
            telemetry_path(self.workspace),
            max_bytes=self.settings.telemetry.max_bytes,
            backups=self.settings.telemetry.backups,
        )

    @cached_property
    def progress(self) -> "ProgressFileHook":
        """The throttled ``.monitoring/progress.json`` writer."""
        from webplatform_digest.telemetry.progress import ProgressFileHook, progress_path

        return ProgressFileHook(
            progress_path(self.workspace),
            min_interval=self.settings.telemetry.progress_min_interval,
            clock=self.clock,
            emit=lambda event: self.telemetry.emit(event),
        )

    @cached_property
    def write_refusal(self) -> str | None:
        """Why this process cannot write the workspace (None when it can)."""
        return write_refusal(self.settings.workspace.root)

    @property
    def read_only(self) -> bool:
        """Whether the workspace can only be read: writing tools and commands are refused."""
        return self.write_refusal is not None

    @cached_property
    def runs(self) -> "RunRegistry":
        """The run registry (``.monitoring/runs.sqlite3``); read-only in a read-only workspace."""
        from webplatform_digest.runs.registry_file import open_run_registry

        return open_run_registry(
            self.workspace,
            retention=self.settings.runs.retention,
            token_ttl=self.settings.runs.token_ttl,
        )

    @cached_property
    def telemetry(self) -> Telemetry:
        """Event fan-out to Prometheus, JSONL, the progress file and the run registry."""
        from webplatform_digest.runs.event_log import RunRegistryHook

        telemetry = Telemetry((self.prometheus,) if self._metrics_enabled else ())
        if self.jsonl is not None:
            telemetry.add(self.jsonl)
        if not self.read_only:
            telemetry.add(self.progress)
            telemetry.add(RunRegistryHook(self.runs))
        return telemetry

    @cached_property
    def area_store(self) -> "AreaStore":
        """Per-area data of the workspace, with the parse cache."""
        from webplatform_digest.storage.area_store import AreaStore

        return AreaStore(
            self.workspace,
            cache_enabled=self.settings.workspace.area_cache_enabled,
            telemetry=self.telemetry,
        )

    @cached_property
    def governor(self) -> "Governor":
        """The one governor of outbound LLM calls."""
        from webplatform_digest import configs
        from webplatform_digest.llm.cache import ReplyCache
        from webplatform_digest.llm.governor import Governor

        cache_config = configs.reply_cache_config(self.settings)
        cache = (
            None
            if cache_config is None
            else ReplyCache.from_config(cache_config, self.telemetry, clock=self.clock)
        )
        return Governor(
            configs.governor_config(self.settings),
            self.telemetry,
            clock=self.clock,
            sleep=self.sleep,
            cache=cache,
        )

    def prepare(self) -> None:
        """Build what every use of a started container needs — the catalogue, the telemetry
        hooks — and import what ``start()`` runs. Blocking (files, SQLite, imports): a server
        calls it in a worker thread, so its event loop never does this work."""
        _ = (self.catalog, self.telemetry)
        for module in _START_MODULES:
            importlib.import_module(module)

    # Services with tasks or sockets ---------------------------------------------------------

    @property
    def write_queue(self) -> "WriteQueue":
        """The single writer of the workspace (only between ``start()`` and ``aclose()``)."""
        return self._host.write_queue

    @property
    def http(self) -> "httpx.AsyncClient":
        """The process's pooled HTTP client, made on first use (only while started).

        One pool serves the LLM endpoint and the release site; every use bounds its own time.
        """
        return self._host.http

    def openai_backend(self) -> "OpenAICompatBackend":
        """The OpenAI-compatible backend on the shared HTTP client (one per started lifetime).

        Raises:
            ConfigError: ``WEBPLATFORM_LLM_BASE_URL`` is not set.
        """
        from webplatform_digest import configs
        from webplatform_digest.llm.openai_compat import OpenAICompatBackend

        def build() -> OpenAICompatBackend:
            return OpenAICompatBackend.from_config(
                self.http, configs.openai_endpoint(self.settings)
            )

        return self._host.bound(("openai", None), build)

    def monitor(self, *, base_url: str | None = None) -> "ReleaseMonitor":
        """The release monitor on the shared HTTP client and write queue (one per site).

        Raises:
            InputError: ``base_url`` is not a plain http(s) site address.
        """
        from webplatform_digest import configs
        from webplatform_digest.monitor.tracker import ReleaseMonitor

        def build() -> ReleaseMonitor:
            return ReleaseMonitor.create(
                workspace=self.workspace,
                writer=self.write_queue,
                client=self.http,
                config=configs.monitor_config(self.settings, base_url=base_url),
                telemetry=self.telemetry,
            )

        return self._host.bound(("monitor", base_url), build)

    def run_services(self) -> "RunServices":
        """What the digest-run drivers need."""
        from webplatform_digest.runs.session import RunServices

        return RunServices(
            workspace=self.workspace,
            registry=self.runs,
            writer=self.write_queue,
            telemetry=self.telemetry,
            clock=self.governor.clock,
            deferred=self._host.deferred,
            stopping=lambda: self._host.stopping,
        )

    # Lifecycle (the ServiceHost's) -----------------------------------------------------------

    def begin_shutdown(self) -> None:
        """The process is stopping: runs cancelled from now on are left interrupted."""
        self._host.begin_shutdown()

    @property
    def stopping(self) -> bool:
        """Whether ``begin_shutdown`` was called."""
        return self._host.stopping

    async def start(self) -> None:
        """Start the write queue and HTTP client (first user only), in a host task of their
        own: MCP lifespans may enter and leave from different tasks."""
        await self._host.start()

    async def aclose(self) -> None:
        """Stop services when the last user leaves (draining writes) and flush telemetry."""
        await self._host.aclose()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncGenerator["Container"]:
        """``start()`` … ``aclose()`` as a context manager."""
        async with self._host.running():
            yield self

    @contextlib.asynccontextmanager
    async def _open_services(self) -> AsyncGenerator[HostedServices]:
        from webplatform_digest import configs
        from webplatform_digest.runs.deferred import DeferredWrites
        from webplatform_digest.storage.queue import WriteQueue

        config = configs.write_queue_config(self.settings)
        if self.read_only:
            config = replace(config, sweep=False)
        async with (
            WriteQueue.open(self.workspace, config, self.telemetry, clock=self.clock) as queue,
            DeferredWrites.open() as deferred,
        ):
            yield HostedServices(queue, deferred)

    def _new_http_client(self) -> "httpx.AsyncClient":
        import httpx

        timeout = self.settings.governor.sampling_timeout
        return httpx.AsyncClient(
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            follow_redirects=False,
        )

    def _flush_files(self) -> None:
        if "progress" in self.__dict__:
            self.progress.flush()
        if "jsonl" in self.__dict__ and self.jsonl is not None:
            self.jsonl.flush()

    def flush_telemetry(self) -> None:
        """Make every event emitted so far readable in the JSONL file (before summaries)."""
        if "jsonl" in self.__dict__ and self.jsonl is not None:
            self.jsonl.flush()

    def close(self) -> None:
        """Release file-backed resources at process exit (after the last ``aclose()``)."""
        if "progress" in self.__dict__:
            self.progress.close()
        if "jsonl" in self.__dict__ and self.jsonl is not None:
            self.jsonl.close()
        if "runs" in self.__dict__:
            self.runs.close()
