"""The ``process`` service: release notes → per-area YAML files in the workspace (I/O shell).

Reads ``release_notes/chrome-<v>[-beta].md`` (and ``webgpu-<v>.md`` when present, merged into
``graphics-webgpu``), parses and classifies it, and writes one
``processed/areas/<area>/chrome-<v>-<channel>.yml`` per area with features through a
``BatchWriter``. Output bytes are deterministic, so re-processing unchanged input writes
nothing. Files of the same release for areas that no longer have features (the catalogue or
the note changed) are removed in the same batch and reported as ``removed``. Given the
``Fingerprints`` taken before the catalogue was loaded, the batch ends with the release's
stamp (``storage/stamps.py``), from which the CLI answers an unchanged re-run; the stamp is
never part of the summary.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

import anyio

from webplatform_digest.areas.classify import FocusAreaManager
from webplatform_digest.areas.data import area_data_set, dump_area_data, source_digest
from webplatform_digest.errors import NotFoundError, ParseError, UnsafePathError
from webplatform_digest.events import Telemetry
from webplatform_digest.models import Channel, Product, Release, ReleaseKey, parse_version
from webplatform_digest.releases.notes import parse_release
from webplatform_digest.services.summaries import ProcessSummary, process_event
from webplatform_digest.storage.stamps import (
    Fingerprints,
    output_hashes,
    process_stamp_rel,
    render_stamp,
    sha256_hex,
)
from webplatform_digest.storage.workspace import Workspace, check_segment
from webplatform_digest.storage.writers import BatchWriter, DirectWriter

log = logging.getLogger(__name__)

_NOTE_FILE = re.compile(r"^chrome-(\d{1,3})(-beta)?\.md$")
WRITE_KIND = "area_data"
#: a release note is ~50 KB; anything this large is not one (and is not read into memory)
MAX_NOTE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything to write for one release, computed off the event loop."""

    files: dict[PurePosixPath, bytes]
    remove: tuple[PurePosixPath, ...]
    summary: ProcessSummary
    #: the notes read, by workspace-relative path, with their SHA-256 (None: absent)
    inputs: dict[str, str | None]


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
    *,
    stamp: Fingerprints | None = None,
) -> ProcessSummary:
    """Parse, classify and write the per-area files of one release (and, given ``stamp``,
    the release's stamp last in the same batch).

    Raises:
        InvalidVersionError: ``version`` is not a milestone number.
        NotFoundError: the release note is missing or unreadable.
        ParseError: the release note is not valid UTF-8 or not a release note.
        WriteError: a file could not be written (the old one is intact).
    """
    key = ReleaseKey(parse_version(version), channel)
    plan = await anyio.to_thread.run_sync(_plan, workspace, catalog, key)
    files = dict(plan.files)
    if stamp is not None:
        files[process_stamp_rel(key)] = _stamp(plan, catalog, stamp)
    result = await (writer or DirectWriter(workspace)).write_batch(
        files, kind=WRITE_KIND, remove=plan.remove
    )
    summary = replace(
        plan.summary,
        written=_strings(result.written, key),
        unchanged=_strings(result.unchanged, key),
        removed=_strings(result.removed, key),
    )
    if telemetry is not None:
        telemetry.emit(process_event(summary))
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
    stamp: Fingerprints | None = None,
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
            await process_release(
                workspace, catalog, k.version, k.channel, writer, telemetry, stamp=stamp
            )
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
    inputs = {
        str(chrome_rel): sha256_hex(chrome_bytes),
        str(webgpu_rel): None if webgpu_bytes is None else sha256_hex(webgpu_bytes),
    }
    return _Plan(files, stale, summary, inputs)


def _stamp(plan: _Plan, catalog: FocusAreaManager, fingerprints: Fingerprints) -> bytes:
    """What an unchanged re-run checks (inputs, outputs, fingerprints) and what it reports."""
    summary = plan.summary
    return render_stamp(
        {
            "command": "process",
            **fingerprints.to_json(),
            "inputs": plan.inputs,
            "outputs": output_hashes(plan.files),
            "names": {area: catalog.get(area).name for area, _ in summary.areas},
            "summary": {
                "areas": [list(pair) for pair in summary.areas],
                "features_total": summary.features_total,
                "links_total": summary.links_total,
                "unclassified": list(summary.unclassified),
                "webgpu_features": summary.webgpu_features,
                "source_hash": summary.source_hash,
            },
        }
    )


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


def _strings(paths: Sequence[PurePosixPath], key: ReleaseKey) -> tuple[str, ...]:
    """The reported paths: the stamp is bookkeeping, never an output."""
    stamp = process_stamp_rel(key)
    return tuple(str(path) for path in paths if path != stamp)
