"""One ``syncfs(2)`` per filesystem instead of one ``fsync`` per file, for large batches.

Hundreds of small files fsynced one by one cost one journal commit each; written without fsync
and then flushed by a single ``syncfs`` of their filesystem they cost one. ``syncfs`` reports
writeback errors of the filesystem since Linux 5.8, so it is used only there (and only where
libc has it); elsewhere :func:`bulk_sync_available` says no and the caller fsyncs each file.

``syncfs`` reports the errors that happened since the descriptor it is given was opened, and
the kernel may write (and fail to write) the files back before the flush. So a
:class:`FilesystemFlush` opens its descriptors *before* the files are written and keeps them
until the last flush: no writeback error of those files can fall before its window.
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
    """Whether :class:`FilesystemFlush` can be used here (Linux ≥ 5.8 with ``syncfs``)."""
    return _syncfs() is not None


class FilesystemFlush:
    """One open descriptor per filesystem holding ``folders`` (existing folders), opened now;
    :meth:`sync` flushes each of those filesystems. Use as a context manager (closes them).

    Raises:
        OSError: syncfs is unavailable here, or a folder cannot be opened.
    """

    def __init__(self, folders: Iterable[Path]) -> None:
        syncfs = _syncfs()
        if syncfs is None:
            raise OSError(f"syncfs is not available on {platform.system()} {platform.release()}")
        self._syncfs = syncfs
        self._fds: dict[int, int] = {}  # device → descriptor
        try:
            for folder in folders:
                self._open(folder)
        except BaseException:
            self.close()
            raise

    def _open(self, folder: Path) -> None:
        if os.stat(folder).st_dev in self._fds:  # most folders share one filesystem
            return
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        device = os.fstat(fd).st_dev
        if device in self._fds:
            os.close(fd)
        else:
            self._fds[device] = fd

    def sync(self) -> None:
        """Flush every filesystem to disk.

        Raises:
            OSError: a flush failed (writeback errors since the descriptors opened included).
        """
        for fd in self._fds.values():
            self._syncfs(fd)

    def close(self) -> None:
        """Close the descriptors."""
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __enter__(self) -> "FilesystemFlush":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


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
