"""The container's lifecycle: first user starts the hosted services, the last one stops them."""

import contextlib
from collections.abc import AsyncGenerator

import httpx
import pytest

from webplatform_digest.errors import WebplatformError
from webplatform_digest.events import Telemetry
from webplatform_digest.runs.deferred import DeferredWrites
from webplatform_digest.service_host import HostedServices, ServiceHost
from webplatform_digest.storage.queue import WriteQueue, WriteQueueConfig
from webplatform_digest.storage.workspace import Workspace


class Recorder:
    """Counts how often the services were opened and stopped, and what was built."""

    def __init__(self, workspace: Workspace, *, fail: bool = False) -> None:
        self.workspace = workspace
        self.fail = fail
        self.opened = 0
        self.stopped = 0
        self.clients: list[httpx.AsyncClient] = []

    @contextlib.asynccontextmanager
    async def open_services(self) -> AsyncGenerator[HostedServices]:
        self.opened += 1
        if self.fail:
            raise OSError("disk gone")
        async with (
            WriteQueue.open(self.workspace, WriteQueueConfig(), Telemetry()) as queue,
            DeferredWrites.open() as deferred,
        ):
            yield HostedServices(queue, deferred)

    def new_http_client(self) -> httpx.AsyncClient:
        self.clients.append(httpx.AsyncClient())
        return self.clients[-1]

    def on_stopped(self) -> None:
        self.stopped += 1

    def host(self) -> ServiceHost:
        return ServiceHost(
            self.open_services, new_http_client=self.new_http_client, on_stopped=self.on_stopped
        )


async def test_two_users_share_one_start_and_the_last_one_stops(workspace: Workspace) -> None:
    """Sessions overlap: services open once, stay up for the second user, stop after it."""
    recorder = Recorder(workspace)
    host = recorder.host()
    await host.start()
    await host.start()
    queue = host.write_queue
    await host.aclose()
    assert host.write_queue is queue
    assert recorder.stopped == 0
    await host.aclose()
    assert (recorder.opened, recorder.stopped) == (1, 1)
    with pytest.raises(WebplatformError, match="not running"):
        _ = host.write_queue


async def test_the_http_client_is_made_once_per_lifetime_and_closed_at_stop(
    workspace: Workspace,
) -> None:
    """Only while started; one client however often asked; closed when the host stops."""
    recorder = Recorder(workspace)
    host = recorder.host()
    with pytest.raises(WebplatformError, match="not running"):
        _ = host.http
    async with host.running():
        assert host.http is host.http
    assert len(recorder.clients) == 1
    assert recorder.clients[0].is_closed


async def test_facades_are_built_once_per_started_lifetime(workspace: Workspace) -> None:
    """A backend bound to the running client is reused, and rebuilt after a restart."""
    host = Recorder(workspace).host()
    built: list[object] = []

    def build() -> object:
        built.append(object())
        return built[-1]

    async with host.running():
        first = host.bound(("openai", None), build)
        assert host.bound(("openai", None), build) is first
    async with host.running():
        assert host.bound(("openai", None), build) is not first
    assert len(built) == 2


async def test_a_failed_start_leaves_the_host_stopped_and_startable(workspace: Workspace) -> None:
    """The opening error reaches the caller, and the user count does not stay raised."""
    recorder = Recorder(workspace, fail=True)
    host = recorder.host()
    with pytest.raises(OSError, match="disk gone"):
        await host.start()
    recorder.fail = False
    async with host.running():
        assert host.deferred is not None
    assert (recorder.opened, recorder.stopped) == (2, 1)


def test_shutdown_is_remembered(workspace: Workspace) -> None:
    """``begin_shutdown`` flips ``stopping`` (runs cancelled from then on stay interrupted)."""
    host = Recorder(workspace).host()
    assert host.stopping is False
    host.begin_shutdown()
    assert host.stopping is True
