"""The workspace layout. Every path the project writes is built here from validated parts.

```
<root>/focus_areas/                       area catalogue overrides (YAML)
<root>/release_notes/chrome-144.md        raw notes (chrome-144-beta.md, webgpu-144.md)
<root>/processed/areas/<area>/chrome-144-stable.yml
<root>/digest_markdown/areas/<area>/chrome-144-en.md   (chrome-144-beta-en.md for beta)
<root>/digest_markdown/...                the Jekyll site
<root>/site/                              optional standalone HTML preview
<root>/.monitoring/                       telemetry.jsonl, progress.json, runs.sqlite3, ...
```
"""

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from webplatform_digest.errors import UnsafePathError
from webplatform_digest.models import Channel, Language, Product, ReleaseKey

_SEGMENT = re.compile(r"^[A-Za-z0-9_.][A-Za-z0-9_.\-]{0,127}$")
_MAX_DEPTH = 12
#: names Windows reserves for devices (with any extension); refused so a workspace stays portable
_DEVICE_NAME = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)


def check_segment(segment: str) -> str:
    """Return ``segment`` if it is a safe single path component, else raise UnsafePathError."""
    if (
        not segment
        or "\x00" in segment
        or "/" in segment
        or "\\" in segment
        or segment in {".", ".."}
        or segment.startswith(".tmp-")
        or segment.endswith(".")
        or not _SEGMENT.fullmatch(segment)
        or _DEVICE_NAME.fullmatch(segment)
    ):
        raise UnsafePathError(f"unsafe path component {segment[:80]!r}")
    return segment


def relative_path(text: str) -> PurePosixPath:
    """Parse a user- or client-supplied relative path, rejecting anything that could escape.

    Raises:
        UnsafePathError: absolute, ``..``, NUL, backslash, drive letters, empty or too deep.
    """
    if not text or len(text) > 1024 or "\x00" in text or "\\" in text:
        raise UnsafePathError(f"unsafe path {text[:80]!r}")
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise UnsafePathError(f"absolute paths are not allowed: {text[:80]!r}")
    parts = PurePosixPath(text).parts
    if not parts or len(parts) > _MAX_DEPTH:
        raise UnsafePathError(f"unsafe path {text[:80]!r}")
    for part in parts:
        check_segment(part)
    return PurePosixPath(*parts)


def confine(root: Path, relative: PurePosixPath) -> Path:
    """Join ``relative`` under ``root`` and prove, after resolving symlinks, that it stays inside.

    The comparison is by path components (``is_relative_to``), never by string prefix, so a
    sibling such as ``<root>_evil`` is outside. Resolve-then-use is acceptable only because the
    write queue is the sole writer under its root.

    Raises:
        UnsafePathError: the resolved path is outside the resolved root, or cannot be resolved.
    """
    for part in relative.parts:
        check_segment(part)
    try:
        base = root.resolve()
        target = (base / Path(*relative.parts)).resolve()
    except (OSError, RuntimeError) as exc:  # symlink loop, or a component is unreadable
        raise UnsafePathError(f"path {str(relative)[:80]!r} cannot be resolved: {exc}") from None
    if not target.is_relative_to(base) or target == base:
        raise UnsafePathError(f"path {str(relative)[:80]!r} escapes the workspace root")
    return target


def confine_all(root: Path, relatives: Iterable[PurePosixPath]) -> list[Path]:
    """``confine`` for many paths, resolving each folder once: the same checks, fewer syscalls.

    A folder is its resolved parent plus its (checked) name unless that is a symlink, so each
    folder costs one ``lstat``; only a link is resolved (and checked) in full.

    Raises:
        UnsafePathError: any of the paths escapes or cannot be resolved.
    """
    folders: dict[PurePosixPath, Path] = {PurePosixPath(): root.resolve()}
    confined: list[Path] = []
    for relative in relatives:
        if not relative.parts:
            raise UnsafePathError("the workspace root itself is not a file")
        confined.append(_confined_child(root, relative, folders))
    return confined


def _confined_child(
    root: Path, relative: PurePosixPath, folders: dict[PurePosixPath, Path]
) -> Path:
    """``confine(root, relative)`` from the confined folder of ``relative`` (memoised in
    ``folders``, which holds the root's resolved path under ``PurePosixPath()``)."""
    folder = folders.get(relative.parent)
    if folder is None:
        folder = folders[relative.parent] = _confined_child(root, relative.parent, folders)
    target = folder / check_segment(relative.name)
    return confine(root, relative) if _maybe_link(target) else target


def _maybe_link(path: Path) -> bool:
    """Whether ``path`` is a symlink, or cannot be told (``confine`` then decides)."""
    try:
        return path.is_symlink()
    except OSError:
        return True


@dataclass(frozen=True, slots=True)
class Workspace:
    """One workspace root and the relative locations of everything in it."""

    root: Path

    RELEASE_NOTES = PurePosixPath("release_notes")
    PROCESSED = PurePosixPath("processed/areas")
    DIGESTS = PurePosixPath("digest_markdown")
    SITE = PurePosixPath("site")
    MONITORING = PurePosixPath(".monitoring")
    FOCUS_AREAS = PurePosixPath("focus_areas")
    FEATURE_INDEX = PurePosixPath("processed/feature-index.json")

    @classmethod
    def at(cls, root: str | os.PathLike[str]) -> "Workspace":
        """A workspace rooted at ``root`` (made absolute, not required to exist yet)."""
        return cls(Path(root).expanduser().absolute())

    def path(self, relative: PurePosixPath) -> Path:
        """The absolute, confined path of a workspace-relative path."""
        return confine(self.root, relative)

    def paths(self, relatives: Iterable[PurePosixPath]) -> list[Path]:
        """``path`` for many relative paths at once (each folder is resolved once)."""
        return confine_all(self.root, relatives)

    # Relative locations: pure, from validated parts only.

    @staticmethod
    def release_note_rel(product: Product, version: int, channel: Channel) -> PurePosixPath:
        """``release_notes/chrome-144.md``, ``chrome-144-beta.md`` or ``webgpu-144.md``."""
        if product is Product.WEBGPU:
            name = f"webgpu-{version}.md"
        else:
            name = f"{ReleaseKey(version, channel).slug}.md"
        return Workspace.RELEASE_NOTES / check_segment(name)

    @staticmethod
    def area_data_name(key: ReleaseKey) -> str:
        """``chrome-144-stable.yml``: the name of a release's file in each area's folder."""
        return f"chrome-{key.version}-{key.channel.value}.yml"

    @staticmethod
    def area_data_rel(area: str, key: ReleaseKey) -> PurePosixPath:
        """``processed/areas/<area>/chrome-144-stable.yml``."""
        name = Workspace.area_data_name(key)
        return Workspace.PROCESSED / check_segment(area) / check_segment(name)

    @staticmethod
    def digest_rel(area: str, key: ReleaseKey, language: Language) -> PurePosixPath:
        """``digest_markdown/areas/<area>/chrome-144-en.md``."""
        name = f"{key.slug}-{language.value}.md"
        return Workspace.DIGESTS / "areas" / check_segment(area) / check_segment(name)

    @staticmethod
    def monitoring_rel(name: str) -> PurePosixPath:
        """A file under ``.monitoring/``."""
        return Workspace.MONITORING / check_segment(name)
