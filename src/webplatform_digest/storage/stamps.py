"""Stamps: what a command's output was made from, so an unchanged re-run can be told cheaply.

A stamp is a small JSON file under ``.monitoring/stamps/`` (the workspace's local state: never
published or committed with the site, since it fingerprints this machine's code), written in
the same batch as the output it describes (last, so it never describes a half-written batch).
It records fingerprints of every input (the note or digest bytes, the workspace's focus-area
files, the package's own files), the hash of every output file, and what the command
reported. A later run recomputes the fingerprints and hashes and, only when every one is
equal, answers from the stamp without importing the parser or the renderers. Anything
unexpected (no stamp, another format or package, an unreadable or symlinked file) is a
mismatch, and the caller takes the full path.

Fingerprints are taken before the inputs are read for the real work: an input edited meanwhile
makes the stamp describe the older bytes, so the next run sees a difference and works in full.
Input hashes are of the very bytes the command read (a site generation reads each digest once,
for its stamp and its pages). Output hashes are of the bytes the batch commits, so a file
edited or removed later also counts as a difference.
"""

import hashlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, cast

import orjson

from webplatform_digest import __version__
from webplatform_digest.errors import WebplatformError
from webplatform_digest.models import ReleaseKey
from webplatform_digest.storage.workspace import Workspace, check_segment

#: bump when a stamp's fields change meaning: older stamps then never match
STAMP_FORMAT = 1
STAMPS = Workspace.MONITORING / "stamps"
PAGES_STAMP = STAMPS / "pages.json"
MAX_STAMP_BYTES = 4 * 1024 * 1024
_PACKAGE_DIR = Path(__file__).resolve().parent.parent
_CATALOG_SUFFIXES = (".yaml", ".yml")

Stamp = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """What every stamp depends on besides a command's own inputs: code and catalogue."""

    code: str
    catalog: str

    def to_json(self) -> dict[str, str]:
        """The stamp fields (a stamp matches only when both are equal)."""
        return {"code": self.code, "catalog": self.catalog}


def fingerprints(workspace: Workspace) -> Fingerprints | None:
    """The code and catalogue fingerprints now, or None when a file cannot be read (no stamp
    is written then, and none is trusted)."""
    try:
        return Fingerprints(code_fingerprint(), catalog_fingerprint(workspace))
    except (OSError, WebplatformError):
        return None


def process_stamp_rel(key: ReleaseKey) -> PurePosixPath:
    """``.monitoring/stamps/chrome-144-stable.json``: the stamp of one processed release."""
    return STAMPS / check_segment(f"chrome-{key.version}-{key.channel.value}.json")


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` in hex."""
    return hashlib.sha256(data).hexdigest()


def _package_files(directory: Path) -> Iterator[tuple[str, int, int]]:
    for entry in sorted(os.scandir(directory), key=lambda item: item.name):
        if entry.is_dir(follow_symlinks=False):
            if entry.name != "__pycache__":
                yield from _package_files(Path(entry.path))
        elif not entry.name.endswith(".pyc"):
            stat = entry.stat()
            yield entry.path, stat.st_size, stat.st_mtime_ns


def code_fingerprint() -> str:
    """The installed package's version and its files' names, sizes and modification times.

    Covers the shipped catalogue, prompts and code: an edited checkout never answers from a
    stamp written by other code.

    Raises:
        OSError: the package directory cannot be listed.
    """
    digest = hashlib.sha256(__version__.encode())
    for name, size, mtime in _package_files(_PACKAGE_DIR):
        digest.update(f"\0{name}\0{size}\0{mtime}".encode())
    return digest.hexdigest()


def catalog_fingerprint(workspace: Workspace) -> str:
    """The hash of the workspace's ``focus_areas/*.yaml`` files (names and bytes).

    Raises:
        OSError: a file cannot be read.
        UnsafePathError: the directory escapes the workspace.
    """
    directory = workspace.path(Workspace.FOCUS_AREAS)
    digest = hashlib.sha256()
    if directory.is_dir():
        for path in sorted(directory.iterdir(), key=lambda item: item.name):
            if path.name.endswith(_CATALOG_SUFFIXES) and path.is_file():
                digest.update(f"\0{path.name}\0".encode() + sha256_hex(path.read_bytes()).encode())
    return digest.hexdigest()


def digest_sources(workspace: Workspace) -> dict[str, str] | None:
    """Every markdown file directly in ``digest_markdown/areas/<folder>/`` except the
    generated ``index.md``, by workspace-relative path, with its SHA-256: the site's inputs.

    None when a folder or file is a symlink (the generator skips those, with a warning that a
    stamp would not repeat), cannot be read, or the folder escapes the workspace: no stamp is
    written then, and none is trusted.
    """
    found = digest_source_bytes(workspace)
    return None if found is None else source_hashes(found)


def source_hashes(sources: Mapping[str, bytes]) -> dict[str, str]:
    """The SHA-256 of each source's bytes, by path."""
    return {rel: sha256_hex(data) for rel, data in sources.items()}


def digest_source_bytes(workspace: Workspace) -> dict[str, bytes] | None:
    """The files of ``digest_sources`` with their bytes (a site generation reads each digest
    once, for its stamp and its pages); None as there."""
    try:
        return _digest_source_bytes(workspace)
    except (OSError, WebplatformError):
        return None


def _digest_source_bytes(workspace: Workspace) -> dict[str, bytes] | None:
    areas = workspace.path(Workspace.DIGESTS / "areas")
    found: dict[str, bytes] = {}
    if not areas.is_dir():
        return found
    for folder in sorted(areas.iterdir(), key=lambda item: item.name):
        if folder.is_symlink():
            return None
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir(), key=lambda item: item.name):
            if not path.name.endswith(".md") or path.name == "index.md":
                continue
            if path.is_symlink():
                return None
            rel = Workspace.DIGESTS / "areas" / folder.name / path.name
            found[str(rel)] = path.read_bytes()
    return found


def output_hashes(files: Mapping[PurePosixPath, bytes]) -> list[list[str]]:
    """``[path, SHA-256]`` of each file of a batch, in batch order (what a command reports
    follows that order, and a stamp's object keys are sorted)."""
    return [[str(rel), sha256_hex(data)] for rel, data in files.items()]


def files_match(workspace: Workspace, expected: Mapping[str, str]) -> bool:
    """Whether every file of ``expected`` (relative path → SHA-256) holds exactly those bytes.

    A path with a symlink anywhere below the root counts as a mismatch: without one, a path of
    safe segments stays inside the root, which spares resolving every folder as
    ``Workspace.paths`` does (most of the check's time on a site of a few hundred files).
    """
    root = str(workspace.root)
    checked: set[str] = set()
    try:
        for rel, digest in expected.items():
            parts = rel.split("/")
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                if prefix in checked:
                    continue
                check_segment(parts[depth - 1])
                if os.path.islink(os.path.join(root, prefix)):
                    return False
                checked.add(prefix)
            with open(os.path.join(root, rel), "rb") as file:
                if sha256_hex(file.read()) != digest:
                    return False
    except (OSError, WebplatformError):
        return False
    return True


def render_stamp(fields: Mapping[str, Any]) -> bytes:
    """A stamp's bytes: ``fields`` plus the format, sorted keys, no timestamp (an unchanged
    re-run writes identical bytes, so the stamp itself counts as unchanged)."""
    document = {"format": STAMP_FORMAT, **fields}
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def read_stamp(workspace: Workspace, rel: PurePosixPath) -> Stamp | None:
    """The stamp at ``rel`` if it exists, parses and has this format; else None."""
    try:
        path = workspace.path(rel)
        if path.is_symlink() or path.stat().st_size > MAX_STAMP_BYTES:
            return None
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError, WebplatformError):
        return None
    if not isinstance(document, dict):
        return None
    stamp = cast("Stamp", document)
    return stamp if stamp.get("format") == STAMP_FORMAT else None
