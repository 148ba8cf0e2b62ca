"""The process service on real files in a temporary workspace."""

import shutil
from collections.abc import Mapping
from pathlib import PurePosixPath

import pytest

from tests.conftest import SAMPLES_DIR
from webplatform_digest.areas.classify import FocusAreaManager
from webplatform_digest.errors import NotFoundError, ParseError
from webplatform_digest.events import RecordingHook, ReleaseProcessed, Telemetry
from webplatform_digest.models import Channel, Product, ReleaseKey
from webplatform_digest.releases.notes import parse_release
from webplatform_digest.services.process import (
    MAX_NOTE_BYTES,
    ProcessSummary,
    process_all,
    process_release,
    release_notes_present,
)
from webplatform_digest.storage.area_store import AreaStore, load_catalog
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import BatchResult, DirectWriter

CATALOG = load_catalog()
NOTES = SAMPLES_DIR / "release_notes"


def _install(workspace: Workspace, *names: str) -> None:
    directory = workspace.path(Workspace.RELEASE_NOTES)
    directory.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(NOTES / name, directory / name.replace(".sample", ""))


class RecordingWriter:
    """A BatchWriter that writes through DirectWriter and records each batch."""

    def __init__(self, workspace: Workspace) -> None:
        self.inner = DirectWriter(workspace)
        self.batches: list[tuple[str, list[PurePosixPath], tuple[PurePosixPath, ...]]] = []

    async def write_batch(
        self,
        files: Mapping[PurePosixPath, bytes],
        *,
        kind: str = "other",
        remove: tuple[PurePosixPath, ...] = (),
    ) -> BatchResult:
        """Record, then write."""
        self.batches.append((kind, sorted(files), remove))
        return await self.inner.write_batch(files, kind=kind, remove=remove)


async def test_processing_writes_one_file_per_area_and_conserves_features(
    workspace: Workspace,
) -> None:
    """Every parsed feature (Chrome and merged WebGPU) is in at least one written area file."""
    _install(workspace, "chrome-145.sample.md", "webgpu-145.sample.md")
    writer = RecordingWriter(workspace)
    summary = await process_release(workspace, CATALOG, 145, Channel.STABLE, writer)
    store = AreaStore(workspace)
    key = ReleaseKey(145)
    assert store.areas_for(key) == tuple(sorted(area for area, _ in summary.areas))
    written_titles = {
        f.title for area in store.areas_for(key) for f in store.load(area, key).features
    }
    chrome = parse_release((NOTES / "chrome-145.sample.md").read_text(encoding="utf-8"))
    assert {f.title for f in chrome.features} <= written_titles
    assert len(written_titles) == summary.features_total
    assert summary.webgpu_features == 3
    assert summary.unclassified == ("Sundry",)
    assert len(summary.written) == len(summary.areas)
    assert writer.batches[0][0] == "area_data"


async def test_reprocessing_unchanged_input_writes_nothing(workspace: Workspace) -> None:
    """The second run reports every file unchanged and leaves the bytes alone."""
    _install(workspace, "chrome-145.sample.md", "webgpu-145.sample.md")
    first = await process_release(workspace, CATALOG, 145)
    before = {p: workspace.path(PurePosixPath(p)).stat().st_mtime_ns for p in first.written}
    second = await process_release(workspace, CATALOG, 145)
    assert second.written == ()
    assert sorted(second.unchanged) == sorted(first.written)
    after = {p: workspace.path(PurePosixPath(p)).stat().st_mtime_ns for p in first.written}
    assert after == before
    assert second.source_hash == first.source_hash


async def test_stale_area_files_of_the_release_are_removed(workspace: Workspace) -> None:
    """An area that no longer has features loses its file for that release, and says so."""
    _install(workspace, "chrome-145.sample.md")
    await process_release(workspace, CATALOG, 145)
    narrower = FocusAreaManager(area for area in CATALOG.areas if area.id != "network")
    summary = await process_release(workspace, narrower, 145)
    assert summary.removed == ("processed/areas/network/chrome-145-stable.yml",)
    assert "Network" in summary.unclassified
    assert not workspace.path(PurePosixPath(summary.removed[0])).exists()


async def test_a_missing_release_note_is_not_found(workspace: Workspace) -> None:
    """The error names the expected file."""
    with pytest.raises(NotFoundError, match=r"release_notes/chrome-146-beta\.md"):
        await process_release(workspace, CATALOG, 146, Channel.BETA)


async def test_an_unreadable_release_note_is_not_found(workspace: Workspace) -> None:
    """A directory where the file should be cannot be read."""
    workspace.path(Workspace.release_note_rel(Product.CHROME, 145, Channel.STABLE)).mkdir(
        parents=True
    )
    with pytest.raises(NotFoundError, match="cannot read"):
        await process_release(workspace, CATALOG, 145)


async def test_invalid_utf8_is_a_parse_error_with_the_line(workspace: Workspace) -> None:
    """Undecodable bytes are reported at their line."""
    path = workspace.path(PurePosixPath("release_notes/chrome-145.md"))
    path.parent.mkdir()
    path.write_bytes(b"# Chrome 145\n## S\n### F\n\xff\n")
    with pytest.raises(ParseError, match=r"chrome-145\.md:4: not valid UTF-8"):
        await process_release(workspace, CATALOG, 145)


async def test_an_oversized_release_note_is_refused_without_reading_it(
    workspace: Workspace,
) -> None:
    """A file larger than any release note is a ParseError, checked by size first."""
    path = workspace.path(PurePosixPath("release_notes/chrome-145.md"))
    path.parent.mkdir()
    with path.open("wb") as handle:
        handle.truncate(MAX_NOTE_BYTES + 1)  # sparse: no real 16 MiB write
    with pytest.raises(ParseError, match="larger than"):
        await process_release(workspace, CATALOG, 145)


async def test_process_all_handles_every_note_oldest_first(workspace: Workspace) -> None:
    """Stable and beta notes are found; WebGPU notes are merged, not processed alone."""
    _install(workspace, "chrome-146-beta.sample.md", "chrome-145.sample.md", "webgpu-145.sample.md")
    hook = RecordingHook()
    summaries = await process_all(workspace, CATALOG, telemetry=Telemetry((hook,)))
    assert [(s.version, s.channel) for s in summaries] == [
        (145, Channel.STABLE),
        (146, Channel.BETA),
    ]
    events = hook.of(ReleaseProcessed)
    assert [(e.version, e.channel) for e in events] == [(145, "stable"), (146, "beta")]
    assert release_notes_present(workspace) == (ReleaseKey(145), ReleaseKey(146, Channel.BETA))


async def test_process_all_without_notes_is_not_found(workspace: Workspace) -> None:
    """An empty workspace says where it looked."""
    with pytest.raises(NotFoundError, match="release_notes"):
        await process_all(workspace, CATALOG)


def test_summary_json_has_the_documented_keys() -> None:
    """The JSON summary carries the keys the CLI and MCP tool promise."""
    summary = ProcessSummary(150, Channel.STABLE, (("css", 2),), 2, 5, ("X",), ("a",))
    assert summary.to_json() == {
        "version": 150,
        "channel": "stable",
        "areas": {"css": 2},
        "features_total": 2,
        "links_total": 5,
        "unclassified": ["X"],
        "written": ["a"],
        "unchanged": [],
        "removed": [],
        "webgpu_features": 0,
        "source_hash": "",
    }
