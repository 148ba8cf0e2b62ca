"""The stored feature index: rebuilt from the per-area documents, updated incrementally."""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import SAMPLES_DIR
from webplatform_digest.errors import ParseError
from webplatform_digest.models import ReleaseKey
from webplatform_digest.services.process import process_release
from webplatform_digest.storage.area_store import load_catalog
from webplatform_digest.storage.feature_index import refresh_index
from webplatform_digest.storage.workspace import Workspace


@pytest.fixture
async def workspace(tmp_path: Path) -> Workspace:
    """A workspace with the bundled Chrome 145 sample processed."""
    notes = tmp_path / "release_notes"
    notes.mkdir()
    for sample in (SAMPLES_DIR / "release_notes").glob("*.sample.md"):
        shutil.copyfile(sample, notes / sample.name.replace(".sample", ""))
    found = Workspace.at(tmp_path)
    await process_release(found, load_catalog(), 145)
    return found


def test_the_first_refresh_reads_every_document_and_stores_the_index(workspace: Workspace) -> None:
    first = refresh_index(workspace)

    assert first.reread > 0
    assert first.written
    assert (workspace.root / Workspace.FEATURE_INDEX).is_file()
    assert any(f.title.startswith("CSS `text-wrap-style") for f in first.index.features)


def test_an_unchanged_workspace_reads_and_writes_nothing(workspace: Workspace) -> None:
    first = refresh_index(workspace)
    again = refresh_index(workspace)

    assert (again.reread, again.dropped, again.written) == (0, 0, False)
    assert again.index == first.index


def test_a_changed_document_is_the_only_one_read_again(workspace: Workspace) -> None:
    refresh_index(workspace)
    css = workspace.root / Workspace.area_data_rel("css", _key())
    text = css.read_text(encoding="utf-8").replace("CSS `text-wrap-style", "CSS `renamed-wrap")
    css.write_text(text, encoding="utf-8")
    os.utime(css, ns=(1, 1))

    again = refresh_index(workspace)

    assert (again.reread, again.written) == (1, True)
    assert any(f.title.startswith("CSS `renamed-wrap") for f in again.index.features)


def test_a_removed_document_drops_its_features(workspace: Workspace) -> None:
    refresh_index(workspace)
    (workspace.root / Workspace.area_data_rel("css", _key())).unlink()

    again = refresh_index(workspace)

    assert again.dropped == 1
    assert all(f.area != "css" for f in again.index.features)


def test_a_corrupt_stored_index_is_rebuilt(workspace: Workspace) -> None:
    first = refresh_index(workspace)
    (workspace.root / Workspace.FEATURE_INDEX).write_text("{not json", encoding="utf-8")

    again = refresh_index(workspace)

    assert again.index == first.index
    assert again.written


def test_a_malformed_document_is_a_parse_error_naming_it(workspace: Workspace) -> None:
    css = workspace.root / Workspace.area_data_rel("css", _key())
    css.write_text("schema: [unclosed", encoding="utf-8")

    with pytest.raises(ParseError, match="css"):
        refresh_index(workspace)


def _key() -> ReleaseKey:
    return ReleaseKey(145)


def test_an_index_that_cannot_be_stored_still_answers_from_memory(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    # a directory where the index file goes: the store fails as on a read-only workspace
    (workspace.root / Workspace.FEATURE_INDEX).mkdir(parents=True)

    refreshed = refresh_index(workspace)

    assert not refreshed.written
    assert any(f.title.startswith("CSS `text-wrap-style") for f in refreshed.index.features)
    assert "feature index not stored" in caplog.text
