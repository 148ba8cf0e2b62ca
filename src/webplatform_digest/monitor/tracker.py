"""Release monitor: find the newest Chrome stable/beta and WebGPU notes and download them.

Discovery reads the site's listing pages (``/release-notes`` for stable, ``/blog`` for beta and
WebGPU posts), takes the newest linked version, then probes ``probe_ahead`` versions further in
case the listing lags. Downloads go through ``SiteClient`` (bounded, retried, one host only) and
the pure converter in ``release_html``. A note is written only after the whole page downloaded
and converted, atomically through the ``BatchWriter`` together with the ledger
``.monitoring/versions.json``: a failed or partial download never touches an existing file.
Every request emits one ``FetchFinished`` event (kind ``stable``/``beta``/``webgpu``/``listing``/
``probe``; outcome ``ok``, ``present`` or the ``FetchError.reason``).
"""

import logging
import re
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import PurePosixPath
from typing import TypeVar

import anyio
import httpx

from webplatform_digest.clock import Clock, monotonic, utc_now_iso
from webplatform_digest.errors import FetchError, ParseError, WebplatformError
from webplatform_digest.events import FetchFinished, Telemetry
from webplatform_digest.models import parse_version
from webplatform_digest.monitor.chrome_site import MonitorConfig, SiteClient, SitePage
from webplatform_digest.monitor.ledger import LEDGER_REL, ledger_entry, read_ledger, with_entry
from webplatform_digest.monitor.results import (
    BackfillResult,
    FetchResult,
    LatestRelease,
    LatestReleases,
)
from webplatform_digest.releases.page import (
    ConvertedNote,
    Track,
    convert_release_page,
    find_versions,
    parse_track,
    parse_version_range,
)
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import BatchWriter

__all__ = [
    "BackfillResult",
    "FetchResult",
    "LatestRelease",
    "LatestReleases",
    "MonitorConfig",
    "ReleaseMonitor",
]

log = logging.getLogger(__name__)

_FILE_PATTERNS = {
    Track.STABLE: re.compile(r"chrome-([0-9]{1,3})\.md"),
    Track.BETA: re.compile(r"chrome-([0-9]{1,3})-beta\.md"),
    Track.WEBGPU: re.compile(r"webgpu-([0-9]{1,3})\.md"),
}

_T = TypeVar("_T")


class ReleaseMonitor:
    """Finds the latest releases and downloads their notes into the workspace."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        writer: BatchWriter,
        site: SiteClient,
        telemetry: Telemetry | None = None,
        clock: Clock = monotonic,
        now: Callable[[], str] = utc_now_iso,
    ) -> None:
        self._workspace = workspace
        self._writer = writer
        self._site = site
        self._config = site.config
        self._telemetry = telemetry or Telemetry()
        self._clock = clock
        self._now = now
        self._ledger_lock = anyio.Lock()

    @classmethod
    def create(
        cls,
        *,
        workspace: Workspace,
        writer: BatchWriter,
        client: httpx.AsyncClient,
        config: MonitorConfig,
        telemetry: Telemetry | None = None,
    ) -> "ReleaseMonitor":
        """A monitor downloading through ``client`` as ``config`` says."""
        site = SiteClient(client, config)
        return cls(workspace=workspace, writer=writer, site=site, telemetry=telemetry)

    def note_url(self, track: Track, version: int) -> str:
        """Address of one note on the configured site."""
        return self._site.url(track.page_path(version))

    def is_present(self, track: Track, version: int) -> bool:
        """Whether the workspace already holds this note."""
        rel = Workspace.release_note_rel(track.product, version, track.channel)
        return self._workspace.path(rel).is_file()

    # -- discovery -----------------------------------------------------------------------------

    async def check_latest(self, channel: str | Track = "all") -> LatestReleases:
        """Find the newest stable, beta and/or WebGPU note (``channel``: one track or ``all``).

        Raises:
            InvalidVersionError: unknown channel.
        """
        every = str(channel).strip().lower() == "all"
        tracks = tuple(Track) if every else (parse_track(channel),)
        listings: dict[str, str | FetchError] = {}
        releases = [await self._latest(track, listings) for track in tracks]
        return LatestReleases(tuple(releases), self._now())

    async def _latest(self, track: Track, listings: dict[str, str | FetchError]) -> LatestRelease:
        listing_url = self._site.url(track.listing_path)
        listing = await self._listing(listing_url, listings)
        error = str(listing) if isinstance(listing, FetchError) else ""
        linked = find_versions(listing, track, listing_url) if isinstance(listing, str) else ()
        if linked:
            known, found_by = max(linked), "listing"
        else:
            known, found_by = await self._fallback(track, listings)
        if known is None:
            error = error or f"no {track.value} release is linked from {listing_url}"
            return LatestRelease(track, None, None, error=error)
        latest = await self._probe_ahead(track, known)
        found_by = "probe" if latest != known else found_by
        url = self.note_url(track, latest)
        return LatestRelease(track, latest, url, self.is_present(track, latest), found_by, error)

    async def _fallback(
        self, track: Track, listings: dict[str, str | FetchError]
    ) -> tuple[int | None, str]:
        """A start when the listing links no note (the blog index shows only recent posts)."""
        if track is not Track.STABLE:
            stable_url = self._site.url(Track.STABLE.listing_path)
            stable = await self._listing(stable_url, listings)
            linked = (
                find_versions(stable, Track.STABLE, stable_url) if isinstance(stable, str) else ()
            )
            # a beta runs one milestone ahead of stable; a WebGPU post matches its stable release
            for candidate in (max(linked) + 1, max(linked)) if linked else ():
                if await self._exists(self.note_url(track, candidate)):
                    return candidate, "stable listing"
        local = self._local_latest(track)
        return local, "workspace" if local is not None else ""

    async def _listing(self, url: str, listings: dict[str, str | FetchError]) -> str | FetchError:
        """A listing page's HTML, or why it is unavailable; each page is read once per check."""
        if url not in listings:
            try:
                page = await self._timed("listing", lambda: self._site.download(url))
                listings[url] = page.text
            except FetchError as exc:
                log.warning("listing %s unavailable: %s", url, exc)
                listings[url] = exc
        return listings[url]

    def _local_latest(self, track: Track) -> int | None:
        folder = self._workspace.path(Workspace.RELEASE_NOTES)
        if not folder.is_dir():
            return None
        pattern = _FILE_PATTERNS[track]
        found = [int(m.group(1)) for p in folder.iterdir() if (m := pattern.fullmatch(p.name))]
        return max(found, default=None)

    async def _probe_ahead(self, track: Track, version: int) -> int:
        latest = version
        for candidate in range(version + 1, version + 1 + self._config.probe_ahead):
            if candidate > 999 or not await self._exists(self.note_url(track, candidate)):
                break
            latest = candidate
        return latest

    async def _exists(self, url: str) -> bool:
        try:
            await self._timed("probe", lambda: self._site.exists(url))
        except FetchError:
            return False
        return True

    # -- fetching ------------------------------------------------------------------------------

    async def fetch_release_notes(
        self, version: int | str, channel: str | Track = "stable", *, force: bool = False
    ) -> FetchResult:
        """Download one note into ``release_notes/`` unless present (``force`` re-downloads).

        Raises:
            InvalidVersionError: bad version or channel.
            FetchError: the download or conversion failed; nothing was written.
            WriteError: the workspace write failed; the old file is intact.
        """
        track = parse_track(channel)
        number = parse_version(version)
        rel = Workspace.release_note_rel(track.product, number, track.channel)
        url = self.note_url(track, number)
        if not force and self._workspace.path(rel).is_file():
            self._emit(track.value, "present", self._clock(), None)
            return FetchResult(track, number, "present", rel.as_posix(), url)
        page, note = await self._timed(track.value, lambda: self._download_note(url, track, number))
        return await self._store(rel, page, note)

    async def fetch_latest(
        self, channel: str | Track = "stable", *, force: bool = False
    ) -> FetchResult:
        """Find the newest note of one track and fetch it.

        Raises:
            FetchError: the newest version cannot be told, or its download failed.
        """
        track = parse_track(channel)
        latest = (await self.check_latest(track)).get(track)
        if latest is None or latest.version is None:
            reason = latest.error if latest else ""
            raise FetchError(f"cannot tell the latest {track.value} release: {reason}")
        return await self.fetch_release_notes(latest.version, track, force=force)

    async def backfill(
        self,
        versions: str | tuple[int, int],
        channel: str | Track = "stable",
        *,
        force: bool = False,
    ) -> BackfillResult:
        """Fetch every missing note in an inclusive range, ``concurrency`` downloads at a time.

        Raises:
            InputError: malformed range or channel.
        """
        track = parse_track(channel)
        if isinstance(versions, str):
            first, last = parse_version_range(versions)
        else:
            low, high = (parse_version(v) for v in versions)
            first, last = parse_version_range(f"{low}-{high}")
        slots = anyio.Semaphore(self._config.concurrency)
        results: dict[int, FetchResult] = {}

        async def one(number: int) -> None:
            if not force and self.is_present(track, number):
                results[number] = await self.fetch_release_notes(number, track)
                return
            async with slots:
                results[number] = await self._fetch_quietly(track, number, force)

        async with anyio.create_task_group() as group:
            for number in range(first, last + 1):
                group.start_soon(one, number)
        ordered = tuple(results[n] for n in range(first, last + 1))
        return BackfillResult(track, first, last, ordered)

    async def _fetch_quietly(self, track: Track, version: int, force: bool) -> FetchResult:
        try:
            return await self.fetch_release_notes(version, track, force=force)
        except WebplatformError as exc:
            not_found = isinstance(exc, FetchError) and exc.reason == "not_found"
            status = exc.status if isinstance(exc, FetchError) else None
            rel = Workspace.release_note_rel(track.product, version, track.channel)
            return FetchResult(
                track,
                version,
                "not_found" if not_found else "failed",
                rel.as_posix(),
                self.note_url(track, version),
                error=str(exc),
                status=status,
            )

    async def _download_note(
        self, url: str, track: Track, version: int
    ) -> tuple[SitePage, ConvertedNote]:
        page = await self._site.download(url)
        convert = partial(convert_release_page, track=track, version=version, url=page.url)
        try:
            # a large page takes tens of milliseconds: keep the event loop free meanwhile
            note = await anyio.to_thread.run_sync(convert, page.text)
        except ParseError as exc:
            raise FetchError(f"cannot convert the page: {exc}", reason="unconvertible") from None
        return page, note

    async def _store(self, rel: PurePosixPath, page: SitePage, note: ConvertedNote) -> FetchResult:
        data = note.markdown.encode("utf-8")
        fetched_at = self._now()
        entry = ledger_entry(note, rel, page.url, data, fetched_at)
        async with self._ledger_lock:  # read-merge-write of the ledger, one fetch at a time
            ledger = with_entry(read_ledger(self._workspace), rel.stem, entry)
            files = {rel: data, LEDGER_REL: ledger}
            written = await self._writer.write_batch(files, kind="release_notes")
        outcome = "fetched" if rel in written.written else "unchanged"
        log.info("%s %s from %s", outcome, rel, page.url)
        return FetchResult(
            note.track,
            note.version,
            outcome,
            rel.as_posix(),
            page.url,
            len(data),
            note.feature_count,
            note.section_count,
            fetched_at,
        )

    # -- HTTP ----------------------------------------------------------------------------------

    async def _timed(self, kind: str, operation: Callable[[], Awaitable[_T]]) -> _T:
        started = self._clock()
        try:
            result = await operation()
        except FetchError as exc:
            self._emit(kind, exc.reason, started, exc.status)
            raise
        self._emit(kind, "ok", started, 200)
        return result

    def _emit(self, kind: str, outcome: str, started: float, status: int | None) -> None:
        seconds = max(0.0, self._clock() - started)
        self._telemetry.emit(
            FetchFinished(kind=kind, outcome=outcome, seconds=seconds, status=status)
        )
