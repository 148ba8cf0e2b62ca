"""The release monitor against a real loopback site: discovery, fetching, ledger, backfill."""

from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import PurePosixPath

import anyio
import httpx
import orjson
import pytest

from tests.fakes import FakeClock
from tests.site_server import (
    DATA_DIR,
    ExpectedPage,
    Route,
    SiteServer,
    expected_pages,
    running_site,
)
from webplatform_digest.errors import FetchError, InputError, InvalidVersionError
from webplatform_digest.events import FetchFinished, RecordingHook, Telemetry
from webplatform_digest.monitor.chrome_site import MonitorConfig, SiteClient
from webplatform_digest.monitor.ledger import LEDGER_REL
from webplatform_digest.monitor.tracker import ReleaseMonitor
from webplatform_digest.releases.page import Track
from webplatform_digest.retry import RetryPolicy
from webplatform_digest.storage.queue import WriteQueue
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import BatchResult, DirectWriter

PAGES = expected_pages()
STABLE_HTML = (DATA_DIR / "release-notes-150.html").read_text(encoding="utf-8")
NOW = "2026-03-04T08:00:00Z"


class GatedTransport(httpx.AsyncBaseTransport):
    """A real HTTP transport that holds each request until ``gate`` are in flight at once.

    Requests are released when the gate fills (or when all ``expected`` have started), so a
    client that respects a bound of ``gate`` proceeds, and one that does not is caught with
    more than ``gate`` requests in flight.
    """

    def __init__(self, gate: int, expected: int) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._gate, self._expected = gate, expected
        self._changed = anyio.Event()
        self.in_flight = self.started = self.max_in_flight = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Count, wait for company, then send for real."""
        self.in_flight += 1
        self.started += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self._notify()
        while self.in_flight < self._gate and self.started < self._expected:
            await self._changed.wait()
        try:
            return await self._inner.handle_async_request(request)
        finally:
            self.in_flight -= 1
            self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def aclose(self) -> None:
        """Close the real transport."""
        await self._inner.aclose()


class RecordingWriter:
    """A DirectWriter that remembers each batch it was given."""

    def __init__(self, workspace: Workspace) -> None:
        self._inner = DirectWriter(workspace)
        self.batches: list[tuple[str, tuple[PurePosixPath, ...]]] = []

    async def write_batch(
        self,
        files: Mapping[PurePosixPath, bytes],
        *,
        kind: str = "other",
        remove: tuple[PurePosixPath, ...] = (),
    ) -> BatchResult:
        """Record, then write atomically."""
        self.batches.append((kind, tuple(files)))
        return await self._inner.write_batch(files, kind=kind, remove=remove)


@pytest.fixture
def site() -> Iterator[SiteServer]:
    """The loopback developer site with the fixture pages and listings."""
    with running_site() as server:
        for page in PAGES:
            server.page(page.path, page.fixture)
        server.page("/release-notes", "release-notes-index.html")
        server.page("/blog", "blog-index.html")
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The process-wide HTTP client (no proxy from the environment)."""
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


@pytest.fixture
def hook() -> RecordingHook:
    """Collects telemetry events."""
    return RecordingHook()


@pytest.fixture
def writer(workspace: Workspace) -> RecordingWriter:
    """The batch writer the monitor writes through."""
    return RecordingWriter(workspace)


@pytest.fixture
def monitor(
    workspace: Workspace,
    writer: RecordingWriter,
    site: SiteServer,
    http: httpx.AsyncClient,
    fake_clock: FakeClock,
    hook: RecordingHook,
) -> ReleaseMonitor:
    """A monitor pointed at the loopback site, with fast retries and a small size cap."""
    return _monitor(workspace, writer, site, http, fake_clock, hook)


def _monitor(
    workspace: Workspace,
    writer: RecordingWriter,
    site: SiteServer,
    http: httpx.AsyncClient,
    clock: FakeClock,
    hook: RecordingHook,
    *,
    concurrency: int = 4,
) -> ReleaseMonitor:
    config = MonitorConfig(
        base_url=site.base_url,
        timeout=2.0,
        max_bytes=256 * 1024,
        concurrency=concurrency,
        retry=RetryPolicy(attempts=2, base_delay=0.1, max_delay=1.0, total_timeout=30.0),
    )
    client = SiteClient(http, config, clock=clock, sleep=clock.sleep)
    return ReleaseMonitor(
        workspace=workspace,
        writer=writer,
        site=client,
        telemetry=Telemetry((hook,)),
        clock=clock,
        now=lambda: NOW,
    )


def _note(workspace: Workspace, name: str) -> bytes:
    return workspace.path(Workspace.RELEASE_NOTES / name).read_bytes()


def _ledger(workspace: Workspace) -> dict[str, dict[str, object]]:
    return orjson.loads(workspace.path(LEDGER_REL).read_bytes())["entries"]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.fixture)
async def test_fetched_notes_parse_to_the_features_of_the_page(
    page: ExpectedPage, monitor: ReleaseMonitor, site: SiteServer, workspace: Workspace
) -> None:
    """A fetched note lands under release_notes/ and parses to the page's features."""
    release_notes = pytest.importorskip("webplatform_digest.releases.notes")
    result = await monitor.fetch_release_notes(page.version, page.track)
    assert result.outcome == "fetched"
    assert result.url == site.base_url + page.path
    text = workspace.path(PurePosixPath(result.path)).read_text(encoding="utf-8")
    assert text.splitlines()[2] == f"Source: {site.base_url}{page.path}"
    release = release_notes.parse_release(text, source=result.path)
    found = [(f.section, f.title, tuple(link.url for link in f.links)) for f in release.features]
    assert found == page.features_at(site.base_url)
    assert result.features == len(page.features)


async def test_notes_are_named_by_channel(monitor: ReleaseMonitor) -> None:
    """Stable, beta and WebGPU notes get the file names the pipeline reads."""
    paths = [
        (await monitor.fetch_release_notes(150, "stable")).path,
        (await monitor.fetch_release_notes("151", "beta")).path,
        (await monitor.fetch_release_notes(150, Track.WEBGPU)).path,
    ]
    assert paths == [
        "release_notes/chrome-150.md",
        "release_notes/chrome-151-beta.md",
        "release_notes/webgpu-150.md",
    ]


async def test_a_present_note_is_not_downloaded_again(
    monitor: ReleaseMonitor, site: SiteServer
) -> None:
    """The second fetch of a note already in the workspace makes no request."""
    await monitor.fetch_release_notes(150)
    again = await monitor.fetch_release_notes(150)
    assert again.outcome == "present"
    assert again.ok
    assert len(site.requests_to("/release-notes/150")) == 1


async def test_force_downloads_again(monitor: ReleaseMonitor, site: SiteServer) -> None:
    """``force`` re-downloads; identical bytes are reported as unchanged."""
    await monitor.fetch_release_notes(150)
    again = await monitor.fetch_release_notes(150, force=True)
    assert again.outcome == "unchanged"
    assert len(site.requests_to("/release-notes/150")) == 2


async def test_nothing_is_written_when_a_fetch_fails(
    monitor: ReleaseMonitor, workspace: Workspace
) -> None:
    """A missing page raises and leaves neither a note nor a ledger behind."""
    with pytest.raises(FetchError) as caught:
        await monitor.fetch_release_notes(152)
    assert caught.value.reason == "not_found"
    assert not workspace.path(Workspace.RELEASE_NOTES / "chrome-152.md").exists()
    assert not workspace.path(LEDGER_REL).exists()


def _break(site: SiteServer, how: str) -> None:
    route = site.routes["/release-notes/150"]
    if how == "server_error":
        route.fail_times = 100
    elif how == "truncated_body":
        route.declared_length = len(route.body) + 1000
    elif how == "truncated_html":
        route.body = STABLE_HTML[: STABLE_HTML.index("Web APIs</h2>")].encode()
    elif how == "over_the_cap":
        route.body = STABLE_HTML.replace("<h2", "<p>" + "pad " * 80_000 + "</p><h2", 1).encode()
    elif how == "redirect_off_site":
        site.routes["/release-notes/150"] = Route(
            status=302, headers={"Location": "http://localhost:9/x"}, content_type=""
        )
    elif how == "hanging":
        route.hang = True


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("server_error", "http_error"),
        ("truncated_body", "truncated"),
        ("truncated_html", "unconvertible"),
        ("over_the_cap", "too_large"),
        ("redirect_off_site", "redirect_refused"),
        ("hanging", "timeout"),
    ],
)
async def test_a_failed_refetch_never_replaces_a_good_note(
    how: str,
    reason: str,
    workspace: Workspace,
    writer: RecordingWriter,
    site: SiteServer,
    http: httpx.AsyncClient,
    fake_clock: FakeClock,
    hook: RecordingHook,
) -> None:
    """Errors, cut-off bodies, oversize pages and refused redirects leave the old file as it was."""
    monitor = _monitor(workspace, writer, site, http, fake_clock, hook)
    await monitor.fetch_release_notes(150)
    good, ledger = _note(workspace, "chrome-150.md"), _ledger(workspace)
    _break(site, how)
    fast = MonitorConfig(
        base_url=site.base_url,
        timeout=0.2,
        max_bytes=256 * 1024,
        retry=RetryPolicy(attempts=2, base_delay=0.1, total_timeout=30.0),
    )
    monitor = ReleaseMonitor(
        workspace=workspace,
        writer=writer,
        site=SiteClient(http, fast, clock=fake_clock, sleep=fake_clock.sleep),
    )
    with pytest.raises(FetchError) as caught:
        await monitor.fetch_release_notes(150, force=True)
    assert caught.value.reason == reason
    assert _note(workspace, "chrome-150.md") == good
    assert _ledger(workspace) == ledger
    assert len(writer.batches) == 1


async def test_the_ledger_records_what_was_fetched_when_and_from_where(
    monitor: ReleaseMonitor, site: SiteServer, workspace: Workspace, writer: RecordingWriter
) -> None:
    """Each fetch adds an entry (URL, time, size, hash) in the same batch as the note."""
    await monitor.fetch_release_notes(150)
    await monitor.fetch_release_notes(151, "beta")
    entries = _ledger(workspace)
    assert sorted(entries) == ["chrome-150", "chrome-151-beta"]
    entry = entries["chrome-151-beta"]
    assert entry["url"] == f"{site.base_url}/blog/chrome-151-beta"
    assert entry["fetched_at"] == NOW
    assert entry["channel"] == "beta"
    assert entry["path"] == "release_notes/chrome-151-beta.md"
    assert entry["bytes"] == len(_note(workspace, "chrome-151-beta.md"))
    assert entry["features"] == 6
    assert writer.batches[0] == (
        "release_notes",
        (PurePosixPath("release_notes/chrome-150.md"), LEDGER_REL),
    )


async def test_an_unreadable_ledger_is_started_afresh(
    monitor: ReleaseMonitor, workspace: Workspace
) -> None:
    """A corrupt ledger does not block fetching; it is replaced by a valid one."""
    path = workspace.path(LEDGER_REL)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"{not json")
    await monitor.fetch_release_notes(150)
    assert list(_ledger(workspace)) == ["chrome-150"]


async def test_check_latest_reads_the_listing_pages(
    monitor: ReleaseMonitor, site: SiteServer
) -> None:
    """Newest linked stable, beta and WebGPU versions; one request per listing page."""
    latest = await monitor.check_latest("all")
    found = {r.track: (r.version, r.found_by, r.present) for r in latest.releases}
    assert found == {
        Track.STABLE: (150, "listing", False),
        Track.BETA: (151, "listing", False),
        Track.WEBGPU: (150, "listing", False),
    }
    assert latest.checked_at == NOW
    assert len(site.requests_to("/blog")) == 1
    assert len(site.requests_to("/release-notes/151")) == 1  # one probe past the listing
    stable = latest.get(Track.STABLE)
    assert stable is not None
    assert stable.url == f"{site.base_url}/release-notes/150"


async def test_check_latest_marks_notes_already_present(monitor: ReleaseMonitor) -> None:
    """After a fetch, the same latest version is reported as present."""
    await monitor.fetch_release_notes(150)
    latest = (await monitor.check_latest("stable")).get(Track.STABLE)
    assert latest is not None
    assert latest.present


async def test_check_latest_probes_past_a_lagging_listing(
    monitor: ReleaseMonitor, site: SiteServer
) -> None:
    """A page one version newer than the listing's newest is found by the probe."""
    site.routes["/release-notes/151"] = Route(body=b"<html></html>")
    latest = (await monitor.check_latest("stable")).get(Track.STABLE)
    assert latest is not None
    assert (latest.version, latest.found_by) == (151, "probe")


async def test_check_latest_falls_back_to_the_workspace_when_a_listing_fails(
    monitor: ReleaseMonitor, site: SiteServer, workspace: Workspace
) -> None:
    """With the listing down, the newest local note is the starting point for the probe."""
    site.routes["/release-notes"].fail_times = 100
    notes = workspace.path(Workspace.RELEASE_NOTES / "chrome-149.md")
    notes.parent.mkdir(parents=True)
    notes.write_text("# Chrome 149\n", encoding="utf-8")
    latest = (await monitor.check_latest("stable")).get(Track.STABLE)
    assert latest is not None
    assert (latest.version, latest.found_by) == (150, "probe")
    assert "HTTP 500" in latest.error


async def test_check_latest_says_when_nothing_can_be_found(
    monitor: ReleaseMonitor, site: SiteServer
) -> None:
    """No listing and no local notes: no version, and an error that says why."""
    del site.routes["/blog"]
    del site.routes["/release-notes"]
    latest = (await monitor.check_latest("webgpu")).get(Track.WEBGPU)
    assert latest is not None
    assert latest.version is None
    assert "not found" in latest.error
    with pytest.raises(FetchError, match="cannot tell the latest webgpu release"):
        await monitor.fetch_latest("webgpu")


async def test_a_blog_index_without_the_post_falls_back_to_the_stable_listing(
    monitor: ReleaseMonitor, site: SiteServer
) -> None:
    """Beta runs one milestone ahead of stable, WebGPU posts match it: both are probed."""
    site.routes["/blog"] = Route(body=b"<html><body><a href='/blog/other'>x</a></body></html>")
    latest = await monitor.check_latest("all")
    found = {r.track: (r.version, r.found_by) for r in latest.releases}
    assert found == {
        Track.STABLE: (150, "listing"),
        Track.BETA: (151, "stable listing"),
        Track.WEBGPU: (150, "stable listing"),
    }
    assert len(site.requests_to("/release-notes")) == 1


async def test_fetch_latest_downloads_the_newest_note(
    monitor: ReleaseMonitor, workspace: Workspace
) -> None:
    """``fetch_latest('beta')`` finds 151 on the blog and stores chrome-151-beta.md."""
    result = await monitor.fetch_latest("beta")
    assert (result.version, result.outcome) == (151, "fetched")
    assert _note(workspace, "chrome-151-beta.md").startswith(b"# Chrome 151 Release Notes (Beta)")


async def test_backfill_keeps_at_most_the_configured_downloads_in_flight(
    workspace: Workspace,
    writer: RecordingWriter,
    site: SiteServer,
    fake_clock: FakeClock,
    hook: RecordingHook,
) -> None:
    """Eight missing versions with concurrency 2: two at a time, never more, all fetched."""
    for version in range(140, 148):
        body = STABLE_HTML.replace("Chrome 150", f"Chrome {version}").encode()
        site.routes[f"/release-notes/{version}"] = Route(body=body)
    transport = GatedTransport(gate=2, expected=8)
    async with httpx.AsyncClient(transport=transport, trust_env=False) as gated:
        monitor = _monitor(workspace, writer, site, gated, fake_clock, hook, concurrency=2)
        with anyio.fail_after(10):
            result = await monitor.backfill("140-147")
    assert [r.outcome for r in result.results] == ["fetched"] * 8
    assert transport.max_in_flight == 2
    assert site.max_in_flight <= 2
    assert sorted(_ledger(workspace)) == [f"chrome-{v}" for v in range(140, 148)]


async def test_backfill_through_the_shared_write_queue_keeps_every_ledger_entry(
    workspace: Workspace, site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """Concurrent fetches through the server's WriteQueue lose no ledger entry."""
    for version in range(140, 146):
        body = STABLE_HTML.replace("Chrome 150", f"Chrome {version}").encode()
        site.routes[f"/release-notes/{version}"] = Route(body=body)
    config = MonitorConfig(base_url=site.base_url, concurrency=4)
    async with WriteQueue.open(workspace) as queue:
        monitor = ReleaseMonitor(
            workspace=workspace, writer=queue, site=SiteClient(http, config, clock=fake_clock)
        )
        result = await monitor.backfill("140-145")
    assert result.count("fetched") == 6
    assert sorted(_ledger(workspace)) == [f"chrome-{v}" for v in range(140, 146)]


async def test_backfill_reports_each_version(
    monitor: ReleaseMonitor, site: SiteServer, workspace: Workspace
) -> None:
    """Missing pages are ``not_found``, local notes ``present``, failures ``failed``."""
    site.routes["/release-notes/149"] = Route(body=b"broken", fail_times=100)
    local = workspace.path(Workspace.RELEASE_NOTES / "chrome-148.md")
    local.parent.mkdir(parents=True)
    local.write_text("# Chrome 148\n", encoding="utf-8")
    result = await monitor.backfill((147, 151))
    outcomes = {r.version: r.outcome for r in result.results}
    assert outcomes == {
        147: "not_found",
        148: "present",
        149: "failed",
        150: "fetched",
        151: "not_found",
    }
    assert [r.version for r in result.failed] == [149]
    assert result.to_dict()["counts"]["not_found"] == 2
    assert site.requests_to("/release-notes/148") == []


async def test_fetches_emit_one_event_each(monitor: ReleaseMonitor, hook: RecordingHook) -> None:
    """Every request reports its kind, outcome and status; present notes report ``present``."""
    await monitor.fetch_release_notes(150)
    await monitor.fetch_release_notes(150)
    with pytest.raises(FetchError):
        await monitor.fetch_release_notes(152)
    await monitor.check_latest("beta")
    events = hook.of(FetchFinished)
    assert [(e.kind, e.outcome, e.status) for e in events] == [
        ("stable", "ok", 200),
        ("stable", "present", None),
        ("stable", "not_found", 404),
        ("listing", "ok", 200),
        ("probe", "not_found", 404),
    ]
    assert all(e.seconds >= 0 for e in events)


async def test_arguments_are_validated_before_any_request(
    monitor: ReleaseMonitor, site: SiteServer
) -> None:
    """Bad versions, channels and ranges are input errors and cost no request."""
    with pytest.raises(InvalidVersionError):
        await monitor.fetch_release_notes("15a")
    with pytest.raises(InvalidVersionError):
        await monitor.fetch_release_notes(150, "canary")
    with pytest.raises(InvalidVersionError):
        await monitor.check_latest("dev")
    with pytest.raises(InputError):
        await monitor.backfill("150-140")
    assert site.requests == []


async def test_results_serialise_for_json_clients(monitor: ReleaseMonitor) -> None:
    """Results turn into plain JSON with ``channel`` rather than the internal track."""
    result = await monitor.fetch_release_notes(150)
    data = orjson.loads(orjson.dumps(result.to_dict()))
    assert data["channel"] == "stable"
    assert data["outcome"] == "fetched"
    assert "track" not in data
    latest = orjson.loads(orjson.dumps((await monitor.check_latest("stable")).to_dict()))
    assert latest["releases"][0]["channel"] == "stable"


def test_create_wires_a_monitor_from_its_config(workspace: Workspace) -> None:
    """``ReleaseMonitor.create`` builds the site client for the configured site."""
    http = httpx.AsyncClient(trust_env=False)
    monitor = ReleaseMonitor.create(
        workspace=workspace,
        writer=DirectWriter(workspace),
        client=http,
        config=MonitorConfig(base_url="http://127.0.0.1:8"),
    )
    assert monitor.note_url(Track.BETA, 145) == "http://127.0.0.1:8/blog/chrome-145-beta"
