"""Writing into the workspace: crash-safe file replacement and the batch-writer interface.

Every file is written to a temp file in the same directory, fsynced, ``os.replace``d over the
target and the directory fsynced, so after a crash a target is the old or the new complete file.
"""

import contextlib
import errno
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from webplatform_digest.errors import WriteError
from webplatform_digest.workspace import Workspace

TEMP_PREFIX = ".tmp-"
TEMP_SUFFIX = ".part"


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a batch write did, by workspace-relative path."""

    written: tuple[PurePosixPath, ...] = ()
    unchanged: tuple[PurePosixPath, ...] = ()
    removed: tuple[PurePosixPath, ...] = ()


class BatchWriter(Protocol):
    """Writes a set of files as one batch (readers see the old or the new set)."""

    async def write_batch(
        self,
        files: Mapping[PurePosixPath, bytes],
        *,
        kind: str = "other",
        remove: tuple[PurePosixPath, ...] = (),
    ) -> BatchResult:
        """Write ``files`` (workspace-relative path → bytes) and remove ``remove``."""
        ...


def atomic_write(target: Path, data: bytes) -> bool:
    """Replace ``target`` with ``data`` crash-safely. Returns False if the bytes were identical.

    Raises:
        WriteError: any OS error; the old file is left intact and the temp file removed.
    """
    try:
        if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace(target, data)
    except OSError as exc:
        raise WriteError(f"cannot write {target.name}: {_reason(exc)}") from exc
    return True


def _replace(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_directory(target.parent)


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    return exc.strerror or type(exc).__name__


class DirectWriter:
    """A ``BatchWriter`` without a queue: atomic writes one after another, in this process."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    async def write_batch(
        self,
        files: Mapping[PurePosixPath, bytes],
        *,
        kind: str = "other",
        remove: tuple[PurePosixPath, ...] = (),
    ) -> BatchResult:
        """Write each file atomically; report which changed."""
        written: list[PurePosixPath] = []
        unchanged: list[PurePosixPath] = []
        for rel, data in files.items():
            (written if atomic_write(self._workspace.path(rel), data) else unchanged).append(rel)
        removed: list[PurePosixPath] = []
        for rel in remove:
            path = self._workspace.path(rel)
            if path.is_file():
                path.unlink()
                removed.append(rel)
        return BatchResult(tuple(written), tuple(unchanged), tuple(removed))
