"""Reading per-area data (with the parse cache) and the catalogue from a workspace."""

from pathlib import Path

import pytest

from webplatform_digest.areas.data import build_area_data, dump_area_data
from webplatform_digest.errors import ConfigError, InputError, NotFoundError, ParseError
from webplatform_digest.events import CacheLookup, RecordingHook, Telemetry
from webplatform_digest.models import Channel, Feature, ReleaseKey
from webplatform_digest.storage.area_store import AreaStore, load_catalog
from webplatform_digest.storage.workspace import Workspace

STABLE = ReleaseKey(150)
BETA = ReleaseKey(151, Channel.BETA)


def _write(workspace: Workspace, area: str, key: ReleaseKey, title: str = "F") -> Path:
    path = workspace.path(Workspace.area_data_rel(area, key))
    path.parent.mkdir(parents=True, exist_ok=True)
    data = build_area_data(key, area, (Feature(title, "S", "body"),))
    path.write_bytes(dump_area_data(data))
    return path


def test_available_releases_and_areas_come_from_the_files_present(workspace: Workspace) -> None:
    """Releases are listed oldest first; areas per release sorted; stray files ignored."""
    _write(workspace, "css", STABLE)
    _write(workspace, "webrtc", STABLE)
    _write(workspace, "css", BETA)
    (workspace.path(Workspace.PROCESSED) / "css" / "notes.txt").write_text("x", encoding="utf-8")
    store = AreaStore(workspace)
    assert store.available_releases() == (STABLE, BETA)
    assert store.areas_for(STABLE) == ("css", "webrtc")
    assert store.areas_for(ReleaseKey(99)) == ()


def test_an_empty_workspace_has_no_releases(workspace: Workspace) -> None:
    """No processed directory is not an error."""
    assert AreaStore(workspace).available_releases() == ()


def test_a_second_load_of_an_unchanged_file_is_a_cache_hit(workspace: Workspace) -> None:
    """Hits and misses are counted and reported as CacheLookup events."""
    _write(workspace, "css", STABLE)
    hook = RecordingHook()
    store = AreaStore(workspace, telemetry=Telemetry((hook,)))
    first = store.load("css", STABLE)
    second = store.load("css", STABLE)
    assert second is first
    assert (store.stats.hits, store.stats.misses, store.stats.entries) == (1, 1, 1)
    assert hook.of(CacheLookup) == [
        CacheLookup(cache="area_data", hit=False, layer="miss"),
        CacheLookup(cache="area_data", hit=True, layer="memory"),
    ]


def test_a_changed_file_is_parsed_again(workspace: Workspace) -> None:
    """The cache key includes the content hash, so a rewrite is never served stale."""
    _write(workspace, "css", STABLE, title="Old")
    store = AreaStore(workspace)
    assert store.load("css", STABLE).features[0].title == "Old"
    _write(workspace, "css", STABLE, title="New")
    assert store.load("css", STABLE).features[0].title == "New"
    assert store.stats.misses == 2


def test_the_cache_is_bounded(workspace: Workspace) -> None:
    """With one entry, alternating between two files misses every time."""
    _write(workspace, "css", STABLE)
    _write(workspace, "webrtc", STABLE)
    store = AreaStore(workspace, max_entries=1)
    for area in ("css", "webrtc", "css"):
        store.load(area, STABLE)
    assert (store.stats.hits, store.stats.misses, store.stats.entries) == (0, 3, 1)


def test_the_cache_can_be_switched_off(workspace: Workspace) -> None:
    """Disabled: every load parses, nothing is counted or emitted."""
    _write(workspace, "css", STABLE)
    hook = RecordingHook()
    store = AreaStore(workspace, cache_enabled=False, telemetry=Telemetry((hook,)))
    assert store.load("css", STABLE) == store.load("css", STABLE)
    assert (store.stats.hits, store.stats.misses) == (0, 0)
    assert hook.events == []


def test_load_errors_are_not_found_parse_or_input_errors(workspace: Workspace) -> None:
    """Missing file, corrupt file and bad area id each have their own error."""
    store = AreaStore(workspace)
    with pytest.raises(NotFoundError, match="process --version 150"):
        store.load("css", STABLE)
    path = _write(workspace, "css", STABLE)
    path.write_bytes(b"version: [")
    with pytest.raises(ParseError, match=r"processed/areas/css/chrome-150-stable\.yml"):
        store.load("css", STABLE)
    with pytest.raises(InputError):
        store.load("../etc", STABLE)


def test_load_catalog_reads_the_shipped_defaults() -> None:
    """Without a directory, the packaged catalogue is used."""
    catalog = load_catalog()
    assert {"css", "graphics-webgpu", "other"} <= set(catalog.ids)


def test_a_workspace_catalogue_overrides_and_extends_the_defaults(workspace: Workspace) -> None:
    """Workspace files change keys of shipped areas, add areas and can disable some."""
    directory = workspace.path(Workspace.FOCUS_AREAS)
    directory.mkdir()
    (directory / "css.yaml").write_text("id: css\nkeywords: [grid]\n", encoding="utf-8")
    (directory / "off.yml").write_text("id: enterprise\nenabled: false\n", encoding="utf-8")
    (directory / "extra.yaml").write_text(
        "id: extensions\nname: Extensions\nname_zh: 扩展\ndescription: Extension APIs.\n"
        "heading_patterns: ['extensions']\n",
        encoding="utf-8",
    )
    (directory / "README.txt").write_text("not yaml", encoding="utf-8")
    catalog = load_catalog(workspace)
    assert catalog.get("css").keywords == ("grid",)
    assert "enterprise" not in catalog.ids
    assert catalog.section_areas("Extensions") == ("extensions",)


def test_a_bad_workspace_catalogue_file_is_a_config_error_naming_it(
    workspace: Workspace,
) -> None:
    """The error names the file inside focus_areas/."""
    directory = workspace.path(Workspace.FOCUS_AREAS)
    directory.mkdir()
    (directory / "broken.yaml").write_bytes(b"id: css\nname_zh: [\n")
    with pytest.raises(ConfigError, match=r"focus_areas/broken\.yaml"):
        load_catalog(workspace)
    (directory / "broken.yaml").write_bytes(b"\xff")
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_catalog(workspace)


def test_load_catalog_from_a_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    """An explicit directory must exist."""
    with pytest.raises(ConfigError, match="does not exist"):
        load_catalog(tmp_path / "nope")
