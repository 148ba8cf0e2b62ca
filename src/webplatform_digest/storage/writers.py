"""Writing into the workspace: the ``BatchWriter`` interface and its two implementations.

* ``WriteQueue`` (``storage/queue.py``): the one shared async writer of a workspace, used by the
  server and the CLI: bounded, coalescing, locked across processes.
* ``DirectWriter``: the same crash-safe commit without queue or locks, for tests and tools.

Both commit through ``storage.commit.commit_files`` (temp → fsync → replace → fsync directory).
"""

from collections.abc import AsyncGenerator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import PurePosixPath
from typing import Protocol, runtime_checkable

from webplatform_digest.storage.commit import (
    TEMP_PREFIX,
    TEMP_SUFFIX,
    BatchResult,
    commit_files,
    file_jobs,
    fsync_directory,
    removal_jobs,
)
from webplatform_digest.storage.queue import WriteQueue, WriteQueueConfig
from webplatform_digest.storage.workspace import Workspace

__all__ = [
    "TEMP_PREFIX",
    "TEMP_SUFFIX",
    "BatchResult",
    "BatchWriter",
    "ConsistentReader",
    "DirectWriter",
    "WriteQueue",
    "WriteQueueConfig",
    "fsync_directory",
]


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


@runtime_checkable
class ConsistentReader(Protocol):
    """A writer that lets readers wait until no batch is half-committed."""

    def reading(self) -> AbstractAsyncContextManager[None]:
        """Hold off commits while the caller reads the workspace."""
        ...


class DirectWriter:
    """A ``BatchWriter`` without a queue or locks: one commit per call, in the calling thread."""

    def __init__(self, workspace: Workspace) -> None:
        self._workspace = workspace

    async def write_batch(
        self,
        files: Mapping[PurePosixPath, bytes],
        *,
        kind: str = "other",
        remove: tuple[PurePosixPath, ...] = (),
    ) -> BatchResult:
        """Commit the files as one set (staged first, so a write error changes nothing).

        Raises:
            UnsafePathError: a path leaves the workspace.
            WriteError: the commit failed (see ``storage.commit.commit_files``).
        """
        jobs = file_jobs(self._workspace, files)
        return commit_files(jobs, removal_jobs(self._workspace, remove, files))

    @asynccontextmanager
    async def reading(self) -> AsyncGenerator[None]:
        """Nothing to wait for: this writer commits synchronously."""
        yield
