"""The ``process`` service: release notes → per-area YAML files in the workspace (I/O shell).

Reads ``release_notes/chrome-<v>[-beta].md`` (and ``webgpu-<v>.md`` when present, merged into
``graphics-webgpu``), parses and classifies it, and writes one
``processed/areas/<area>/chrome-<v>-<channel>.yml`` per area with features through a
``BatchWriter``. Output bytes are deterministic, so re-processing unchanged input writes
nothing. Files of the same release for areas that no longer have features (the catalogue or
the note changed) are removed in the same batch and reported as ``removed``.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

import anyio

from webplatform_digest.areas.classify import FocusAreaManager
from webplatform_digest.areas.data import area_data_set, dump_area_data, source_digest
from webplatform_digest.errors import NotFoundError, ParseError, UnsafePathError
from webplatform_digest.events import ReleaseProcessed, Telemetry
from webplatform_digest.models import Channel, Product, Release, ReleaseKey, parse_version
from webplatform_digest.releases.notes import parse_release
from webplatform_digest.storage.workspace import Workspace, check_segment
from webplatform_digest.storage.writers import BatchWriter, DirectWriter

log = logging.getLogger(__name__)

_NOTE_FILE = re.compile(r"^chrome-(\d{1,3})(-beta)?\.md$")
WRITE_KIND = "area_data"
#: a release note is ~50 KB; anything this large is not one (and is not read into memory)
MAX_NOTE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ProcessSummary:
    """What processing one release did."""

    version: int
    channel: Channel
    areas: tuple[tuple[str, int], ...]
    features_total: int
    links_total: int
    unclassified: tuple[str, ...]
    written: tuple[str, ...]
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    webgpu_features: int = 0
    source_hash: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON summary printed by ``process --json`` and returned by the MCP tool."""
        return {
            "version": self.version,
            "channel": self.channel.value,
            "areas": dict(self.areas),
            "features_total": self.features_total,
            "links_total": self.links_total,
            "unclassified": list(self.unclassified),
            "written": list(self.written),
            "unchanged": list(self.unchanged),
            "removed": list(self.removed),
            "webgpu_features": self.webgpu_features,
            "source_hash": self.source_hash,
        }


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything to write for one release, computed off the event loop."""

    files: dict[PurePosixPath, bytes]
    remove: tuple[PurePosixPath, ...]
    summary: ProcessSummary


def release_notes_present(workspace: Workspace) -> tuple[ReleaseKey, ...]:
    """Every Chrome release note in ``release_notes/``, oldest first."""
    directory = workspace.path(Workspace.RELEASE_NOTES)
    if not directory.is_dir():
        return ()
    keys = [
        ReleaseKey(int(match[1]), Channel.BETA if match[2] else Channel.STABLE)
        for path in directory.iterdir()
        if (match := _NOTE_FILE.match(path.name)) and path.is_file()
    ]
    return tuple(sorted(keys))


async def process_release(
    workspace: Workspace,
    catalog: FocusAreaManager,
    version: int,
    channel: Channel = Channel.STABLE,
    writer: BatchWriter | None = None,
    telemetry: Telemetry | None = None,
) -> ProcessSummary:
    """Parse, classify and write the per-area files of one release.

    Raises:
        InvalidVersionError: ``version`` is not a milestone number.
        NotFoundError: the release note is missing or unreadable.
        ParseError: the release note is not valid UTF-8 or not a release note.
        WriteError: a file could not be written (the old one is intact).
    """
    key = ReleaseKey(parse_version(version), channel)
    plan = await anyio.to_thread.run_sync(_plan, workspace, catalog, key)
    result = await (writer or DirectWriter(workspace)).write_batch(
        plan.files, kind=WRITE_KIND, remove=plan.remove
    )
    summary = replace(
        plan.summary,
        written=_strings(result.written),
        unchanged=_strings(result.unchanged),
        removed=_strings(result.removed),
    )
    if telemetry is not None:
        telemetry.emit(_event(summary))
    log.info("processed %s: %d features", key.slug, summary.features_total)
    return summary


def releases_in_range(
    keys: Sequence[ReleaseKey], version_range: tuple[int, int] | None, channel: Channel | None
) -> tuple[ReleaseKey, ...]:
    """The releases of ``keys`` within an inclusive version range (None: all) on ``channel``
    (None: both), oldest first."""
    low, high = version_range or (1, 999)
    return tuple(
        sorted(
            key
            for key in keys
            if low <= key.version <= high and (channel is None or key.channel is channel)
        )
    )


async def process_all(
    workspace: Workspace,
    catalog: FocusAreaManager,
    writer: BatchWriter | None = None,
    telemetry: Telemetry | None = None,
    *,
    version_range: tuple[int, int] | None = None,
    channel: Channel | None = None,
) -> tuple[ProcessSummary, ...]:
    """Process every Chrome release note present in the workspace (or those of a version
    range and channel), oldest first.

    Raises:
        NotFoundError: there is no such release note at all.
    """
    keys = releases_in_range(release_notes_present(workspace), version_range, channel)
    if not keys:
        within = f" for {version_range[0]}-{version_range[1]}" if version_range else ""
        raise NotFoundError(
            f"no release notes (chrome-<version>.md){within} in {workspace.root}/release_notes"
        )
    writer = writer or DirectWriter(workspace)
    return tuple(
        [
            await process_release(workspace, catalog, k.version, k.channel, writer, telemetry)
            for k in keys
        ]
    )


def _plan(workspace: Workspace, catalog: FocusAreaManager, key: ReleaseKey) -> _Plan:
    chrome_rel = Workspace.release_note_rel(Product.CHROME, key.version, key.channel)
    chrome_bytes = _read(workspace, chrome_rel)
    if chrome_bytes is None:
        raise NotFoundError(f"release note {chrome_rel} not found in {workspace.root}")
    webgpu_rel = Workspace.release_note_rel(Product.WEBGPU, key.version, Channel.STABLE)
    webgpu_bytes = _read(workspace, webgpu_rel)
    chrome = _parse(chrome_bytes, chrome_rel, Product.CHROME, key)
    webgpu = None
    if webgpu_bytes is not None:
        webgpu = _parse(webgpu_bytes, webgpu_rel, Product.WEBGPU, key)
    source_hash = source_digest(chrome_bytes, webgpu_bytes or b"")
    classification = catalog.classify_release(chrome, webgpu)
    documents = area_data_set(classification, key, source_hash)
    files = {
        Workspace.area_data_rel(area, key): dump_area_data(doc) for area, doc in documents.items()
    }
    stale = tuple(rel for rel in _existing_area_files(workspace, key) if rel not in files)
    summary = ProcessSummary(
        version=key.version,
        channel=key.channel,
        areas=tuple(classification.counts().items()),
        features_total=len(classification.features),
        links_total=sum(len(f.links) for f in classification.features),
        unclassified=classification.unclassified,
        written=(),
        webgpu_features=len(classification.features) - len(chrome.features),
        source_hash=source_hash,
    )
    return _Plan(files, stale, summary)


def _read(workspace: Workspace, rel: PurePosixPath) -> bytes | None:
    """The file's bytes, or None if it does not exist.

    Raises:
        NotFoundError: it exists but cannot be read.
        ParseError: it is larger than ``MAX_NOTE_BYTES``.
    """
    path = workspace.path(rel)
    try:
        if path.stat().st_size > MAX_NOTE_BYTES:
            raise ParseError(f"larger than {MAX_NOTE_BYTES} bytes", source=str(rel))
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NotFoundError(f"cannot read {rel}: {exc.strerror or exc}") from None


def _parse(data: bytes, rel: PurePosixPath, product: Product, key: ReleaseKey) -> Release:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError("not valid UTF-8", source=str(rel), line=line) from None
    channel = key.channel if product is Product.CHROME else Channel.STABLE
    return parse_release(
        text, source=str(rel), product=product, version=key.version, channel=channel
    )


def _existing_area_files(workspace: Workspace, key: ReleaseKey) -> list[PurePosixPath]:
    base = workspace.path(Workspace.PROCESSED)
    if not base.is_dir():
        return []
    found: list[PurePosixPath] = []
    for child in sorted(base.iterdir()):
        if not child.is_dir():
            continue
        try:
            rel = Workspace.area_data_rel(check_segment(child.name), key)
        except UnsafePathError:
            continue
        if workspace.path(rel).is_file():
            found.append(rel)
    return found


def _strings(paths: Sequence[PurePosixPath]) -> tuple[str, ...]:
    return tuple(str(path) for path in paths)


def _event(summary: ProcessSummary) -> ReleaseProcessed:
    return ReleaseProcessed(
        version=summary.version,
        channel=summary.channel.value,
        features=summary.features_total,
        areas=len(summary.areas),
        written=len(summary.written),
        unchanged=len(summary.unchanged),
        removed=len(summary.removed),
        unclassified=len(summary.unclassified),
    )
