"""One ``syncfs(2)`` per filesystem instead of one ``fsync`` per file, for large batches.

Hundreds of small files fsynced one by one cost one journal commit each; written without fsync
and then flushed by a single ``syncfs`` of their filesystem they cost one. ``syncfs`` reports
writeback errors of the filesystem since Linux 5.8, so it is used only there (and only where
libc has it); elsewhere :func:`bulk_sync_available` says no and the caller fsyncs each file.
"""

import functools
import os
import platform
import re
from collections.abc import Callable, Iterable
from pathlib import Path

#: the first kernel whose syncfs returns writeback errors instead of always succeeding
_ERRORS_SINCE = (5, 8)
_RELEASE = re.compile(r"^(\d+)\.(\d+)")


def bulk_sync_available() -> bool:
    """Whether :func:`sync_filesystems` is trustworthy here (Linux ≥ 5.8 with ``syncfs``)."""
    return _syncfs() is not None


def sync_filesystems(folders: Iterable[Path]) -> None:
    """Flush every filesystem holding one of ``folders`` to disk, each once.

    Raises:
        OSError: opening a folder or the flush itself failed (writeback errors included).
    """
    syncfs = _syncfs()
    if syncfs is None:
        raise OSError(f"syncfs is not available on {platform.system()} {platform.release()}")
    done: set[int] = set()
    for folder in folders:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            device = os.fstat(fd).st_dev
            if device not in done:
                syncfs(fd)
                done.add(device)
        finally:
            os.close(fd)


@functools.cache
def _syncfs() -> Callable[[int], None] | None:
    if platform.system() != "Linux" or not _reports_errors(platform.release()):
        return None
    import ctypes  # only large batches pay for it

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.syncfs
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int]
    call.restype = ctypes.c_int

    def syncfs(fd: int) -> None:
        if call(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))

    return syncfs


def _reports_errors(release: str) -> bool:
    match = _RELEASE.match(release)
    return match is not None and (int(match[1]), int(match[2])) >= _ERRORS_SINCE
