"""The stored feature index (I/O): ``processed/feature-index.json``, updated incrementally.

Each per-area document is fingerprinted by modification time and size; only documents whose
fingerprint changed since the stored index are read and parsed again. The index is written
through ``atomic_write`` (temp file, fsync, replace), and only when its bytes change.
"""

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import orjson

from webplatform_digest.areas.data import load_area_data
from webplatform_digest.errors import NotFoundError, ParseError, WriteError
from webplatform_digest.site.search import (
    IndexedFile,
    SearchIndex,
    index_file,
    index_from_json,
    updated_index,
)
from webplatform_digest.storage.commit import atomic_write
from webplatform_digest.storage.workspace import Workspace

log = logging.getLogger(__name__)

_AREA_FILE = re.compile(r"^chrome-\d{1,3}-(?:stable|beta)\.yml$")
_AREA_DIR = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


@dataclass(frozen=True, slots=True)
class IndexRefresh:
    """The current index, how many documents were (re)read or dropped, and whether it was
    written."""

    index: SearchIndex
    reread: int
    dropped: int
    written: bool


def area_files(workspace: Workspace) -> dict[str, tuple[Path, str]]:
    """Every per-area document of the workspace → its path and ``<mtime_ns>:<size>``.

    Listed from the confined ``processed/areas`` folder without following symbolic links, so
    no path needs confining one by one.
    """
    base = workspace.path(Workspace.PROCESSED)
    found: dict[str, tuple[Path, str]] = {}
    try:
        folders = [d for d in base.iterdir() if _AREA_DIR.match(d.name) and _is_dir(d)]
    except OSError:
        return found
    for folder in folders:
        for path in folder.iterdir():
            if _AREA_FILE.match(path.name) and not path.is_symlink():
                stat = path.stat()
                rel = Workspace.PROCESSED / folder.name / path.name
                found[str(rel)] = (path, f"{stat.st_mtime_ns}:{stat.st_size}")
    return found


def _is_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def stored_index(workspace: Workspace) -> SearchIndex:
    """The index as last stored (empty when absent or unreadable: it is rebuilt then)."""
    try:
        return index_from_json(orjson.loads(workspace.path(Workspace.FEATURE_INDEX).read_bytes()))
    except FileNotFoundError:
        return SearchIndex()
    except (OSError, orjson.JSONDecodeError, ParseError) as exc:
        log.warning("rebuilding the feature index: %s", exc)
        return SearchIndex()


def refresh_index(workspace: Workspace) -> IndexRefresh:
    """The stored index brought up to date with the per-area documents, and stored.

    Raises:
        ParseError: a per-area document is not valid area data.
    """
    files = area_files(workspace)

    def read(rel: str) -> IndexedFile:
        path, fingerprint = files[rel]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise NotFoundError(f"cannot read {rel}: {exc.strerror or exc}") from None
        return index_file(rel, fingerprint, load_area_data(data, source=rel))

    fingerprints = {rel: fingerprint for rel, (_, fingerprint) in files.items()}
    update = updated_index(stored_index(workspace), fingerprints, read)
    written = False
    if update.reread or update.dropped:
        written = _store(workspace, update.index)
    return IndexRefresh(update.index, update.reread, update.dropped, written)


def _store(workspace: Workspace, index: SearchIndex) -> bool:
    """Store the index; a workspace that cannot be written still answers from memory."""
    try:
        return atomic_write(workspace.path(Workspace.FEATURE_INDEX), orjson.dumps(index.to_json()))
    except WriteError as exc:
        log.warning("feature index not stored (searches rebuild it): %s", exc)
        return False
