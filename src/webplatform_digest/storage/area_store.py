"""Reading per-area data and the focus-area catalogue from disk (I/O).

``AreaStore`` lists and loads ``processed/areas/<area>/chrome-<v>-<channel>.yml``. Parsed
documents are cached in a bounded LRU keyed by path and content hash, so a changed file is
re-parsed and an unchanged one is not (every lookup still reads the bytes: that is what makes
the cache correct when another process rewrites a file). Hits and misses are counted and
reported to telemetry as ``CacheLookup(cache="area_data")``.

``load_catalog`` reads the shipped catalogue and lets a workspace's ``focus_areas/`` override
or extend it.
"""

import hashlib
import logging
import re
import threading
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from cachetools import LRUCache

from webplatform_digest.areas.classify import FocusAreaManager
from webplatform_digest.areas.data import load_area_data
from webplatform_digest.errors import ConfigError, NotFoundError, UnsafePathError
from webplatform_digest.events import CacheLookup, Telemetry
from webplatform_digest.models import AreaData, Channel, ReleaseKey, normalise_area_id
from webplatform_digest.storage.workspace import Workspace, check_segment

log = logging.getLogger(__name__)

DEFAULT_CACHE_ENTRIES = 256
MAX_CATALOG_FILE_BYTES = 256 * 1024
_AREA_FILE = re.compile(r"^chrome-(\d{1,3})-(stable|beta)\.yml$")


@dataclass(frozen=True, slots=True)
class CacheStats:
    """Area-data cache counters."""

    hits: int
    misses: int
    entries: int


class AreaStore:
    """Lists and loads per-area data of a workspace, with a bounded parse cache."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        cache_enabled: bool = True,
        max_entries: int = DEFAULT_CACHE_ENTRIES,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._workspace = workspace
        self._cache: LRUCache[tuple[Path, str], AreaData] | None = (
            LRUCache(maxsize=max_entries) if cache_enabled else None
        )
        self._telemetry = telemetry
        self._lock = threading.Lock()
        self._hits = 0
        self._misses = 0

    @property
    def stats(self) -> CacheStats:
        """Hits, misses and current entries of the parse cache."""
        with self._lock:
            entries = len(self._cache) if self._cache is not None else 0
            return CacheStats(self._hits, self._misses, entries)

    def available_releases(self) -> tuple[ReleaseKey, ...]:
        """Every release with at least one area file, oldest first."""
        keys: set[ReleaseKey] = set()
        for area_dir in self._area_dirs():
            for path in area_dir.iterdir():
                if match := _AREA_FILE.match(path.name):
                    keys.add(ReleaseKey(int(match[1]), Channel(match[2])))
        return tuple(sorted(keys))

    def areas_for(self, key: ReleaseKey) -> tuple[str, ...]:
        """Ids of the areas that have a file for ``key``, sorted."""
        name = Workspace.area_data_name(key)
        return tuple(sorted(d.name for d in self._area_dirs() if (d / name).is_file()))

    def load(self, area: str, key: ReleaseKey) -> AreaData:
        """The parsed area data of one release.

        Raises:
            InputError: ``area`` is not a valid area id.
            NotFoundError: no such file (or it cannot be read).
            ParseError: the file is not valid area data.
        """
        rel = Workspace.area_data_rel(normalise_area_id(area), key)
        path = self._workspace.path(rel)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFoundError(
                f"no area data for {area} in {key.slug} ({rel}); run: webplatform-digest "
                f"process --version {key.version} --channel {key.channel.value}"
            ) from None
        except OSError as exc:
            raise NotFoundError(f"cannot read {rel}: {exc.strerror or exc}") from None
        return self._parse(path, str(rel), data)

    def clear(self) -> None:
        """Drop every cached document (counters are kept)."""
        with self._lock:
            if self._cache is not None:
                self._cache.clear()

    def _parse(self, path: Path, rel: str, data: bytes) -> AreaData:
        if self._cache is None:
            return load_area_data(data, source=rel)
        cache_key = (path, hashlib.sha256(data).hexdigest())
        with self._lock:
            cached = self._cache.get(cache_key)
        self._record(hit=cached is not None)
        if cached is not None:
            return cached
        parsed = load_area_data(data, source=rel)
        with self._lock:
            self._cache[cache_key] = parsed
        return parsed

    def _record(self, *, hit: bool) -> None:
        with self._lock:
            if hit:
                self._hits += 1
            else:
                self._misses += 1
        if self._telemetry is not None:
            event = CacheLookup(cache="area_data", hit=hit, layer="memory" if hit else "miss")
            self._telemetry.emit(event)

    def _area_dirs(self) -> list[Path]:
        try:
            base = self._workspace.path(Workspace.PROCESSED)
            children = list(base.iterdir()) if base.is_dir() else []
        except OSError:
            return []
        return [child for child in children if child.is_dir() and _is_segment(child.name)]


def _is_segment(name: str) -> bool:
    try:
        check_segment(name)
    except UnsafePathError:
        return False
    return True


def default_catalog_texts() -> dict[str, str]:
    """The shipped catalogue: ``file name → YAML text`` from the package data."""
    root = resources.files("webplatform_digest") / "data" / "focus_areas"
    return _read_yaml_files(root, "the shipped catalogue")


def workspace_catalog_texts(workspace: Workspace) -> dict[str, str]:
    """The workspace's ``focus_areas/*.yaml`` files (empty if the directory is absent)."""
    directory = workspace.path(Workspace.FOCUS_AREAS)
    if not directory.is_dir():
        return {}
    return _read_yaml_files(directory, str(Workspace.FOCUS_AREAS))


def load_catalog(directory: Path | Workspace | None = None) -> FocusAreaManager:
    """The catalogue: shipped defaults, overridden/extended by ``directory``'s YAML files
    (a workspace means its ``focus_areas/``).

    Raises:
        ConfigError: a file is malformed or unreadable (the message names it).
    """
    overrides: dict[str, str] = {}
    if isinstance(directory, Workspace):
        overrides = workspace_catalog_texts(directory)
    elif directory is not None:
        if not directory.is_dir():
            raise ConfigError(f"focus area directory {directory} does not exist")
        overrides = _read_yaml_files(directory, str(directory))
    return FocusAreaManager.from_yaml_texts(default_catalog_texts(), overrides)


def _read_yaml_files(directory: Traversable | Path, label: str) -> dict[str, str]:
    texts: dict[str, str] = {}
    try:
        entries = sorted(directory.iterdir(), key=lambda entry: entry.name)
    except OSError as exc:
        raise ConfigError(f"cannot list {label}: {exc}") from None
    for entry in entries:
        if not entry.name.endswith((".yaml", ".yml")) or not entry.is_file():
            continue
        name = f"{label}/{entry.name}"
        try:
            data = entry.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read focus area file {name}: {exc}") from None
        if len(data) > MAX_CATALOG_FILE_BYTES:
            raise ConfigError(f"focus area file {name} is larger than {MAX_CATALOG_FILE_BYTES}")
        try:
            texts[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"focus area file {name} is not valid UTF-8") from None
    return texts
