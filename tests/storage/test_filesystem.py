"""Large batches made durable by one syncfs per filesystem, with the two-phase guarantee kept."""

import errno
import os
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

import pytest

from tests.system.support import temp_leftovers
from webplatform_digest.errors import WriteError
from webplatform_digest.storage import commit, filesystem
from webplatform_digest.storage.commit import BULK_SYNC_MIN_FILES, FileJob, commit_files

needs_syncfs = pytest.mark.skipif(
    not filesystem.bulk_sync_available(), reason="syncfs with error reporting (Linux ≥ 5.8)"
)


class Flushes:
    """The real syncfs, counted, failing at its ``fail_at``-th call (0: never)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_at: int = 0) -> None:
        real = filesystem._syncfs()  # pyright: ignore[reportPrivateUsage]
        assert real is not None
        self.calls = 0
        self.fsyncs = 0

        def counted(fd: int) -> None:
            self.calls += 1
            if self.calls == fail_at:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            real(fd)

        original_fsync = os.fsync

        def fsync(fd: int) -> None:
            self.fsyncs += 1
            original_fsync(fd)

        monkeypatch.setattr(filesystem, "_syncfs", lambda: counted)
        monkeypatch.setattr(os, "fsync", fsync)


def _jobs(root: Path, count: int, prefix: str = "new") -> list[FileJob]:
    return [
        FileJob(
            PurePosixPath(f"d{i % 4}/f{i}.md"),
            root / f"d{i % 4}" / f"f{i}.md",
            f"{prefix}{i}".encode(),
        )
        for i in range(count)
    ]


def _contents(jobs: list[FileJob]) -> list[bytes]:
    return [job.path.read_bytes() for job in jobs]


@pytest.mark.parametrize(
    ("release", "reports"),
    [("5.8.0", True), ("6.1.0-18-amd64", True), ("5.7.19", False), ("4.19.0", False), ("x", False)],
)
def test_syncfs_is_trusted_only_on_kernels_that_report_writeback_errors(
    release: str, reports: bool
) -> None:
    assert filesystem._reports_errors(release) is reports  # pyright: ignore[reportPrivateUsage]


@needs_syncfs
def test_folders_on_one_filesystem_are_flushed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folders = [tmp_path / name for name in ("a", "b", "c")]
    for folder in folders:
        folder.mkdir()
    flushes = Flushes(monkeypatch)
    with filesystem.FilesystemFlush(folders) as flush:
        flush.sync()
    assert flushes.calls == 1


@needs_syncfs
def test_the_flush_is_opened_before_any_file_of_the_batch_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """syncfs reports the writeback errors since its descriptor was opened: one that opened
    after the writes could miss an error of the kernel writing them back early."""
    jobs = _jobs(tmp_path, BULK_SYNC_MIN_FILES * 2)
    seen_at_open: list[int] = []

    class Recording(filesystem.FilesystemFlush):
        def __init__(self, folders: Iterable[Path]) -> None:
            seen_at_open.append(
                sum(1 for _ in tmp_path.rglob("*.md")) + len(temp_leftovers(tmp_path))
            )
            super().__init__(folders)

    monkeypatch.setattr(commit, "FilesystemFlush", Recording)
    commit_files(jobs)
    assert seen_at_open == [0]
    assert _contents(jobs) == [job.data for job in jobs]


@needs_syncfs
def test_a_large_batch_flushes_twice_and_fsyncs_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once before the first replace and once after the last; the files are all new."""
    jobs = _jobs(tmp_path, BULK_SYNC_MIN_FILES * 3)
    flushes = Flushes(monkeypatch)
    result = commit_files(jobs)
    assert (flushes.calls, flushes.fsyncs) == (2, 0)
    assert len(result.written) == len(jobs)
    assert _contents(jobs) == [job.data for job in jobs]
    assert temp_leftovers(tmp_path) == []


@needs_syncfs
def test_a_small_batch_still_fsyncs_each_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = _jobs(tmp_path, BULK_SYNC_MIN_FILES - 1)
    flushes = Flushes(monkeypatch)
    commit_files(jobs)
    assert flushes.calls == 0
    assert flushes.fsyncs == len(jobs) + 4 + 1  # each file, its four new folders, their parent


@needs_syncfs
def test_a_failed_flush_before_the_replaces_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _jobs(tmp_path, BULK_SYNC_MIN_FILES * 2, prefix="old")
    commit_files(old)
    new = _jobs(tmp_path, BULK_SYNC_MIN_FILES * 2)
    Flushes(monkeypatch, fail_at=1)
    with pytest.raises(WriteError, match="nothing was changed") as caught:
        commit_files(new)
    assert "input/output error" in str(caught.value).lower()
    assert _contents(new) == [job.data for job in old]
    assert temp_leftovers(tmp_path) == []


@needs_syncfs
def test_a_failed_flush_after_the_replaces_says_the_change_may_not_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = _jobs(tmp_path, BULK_SYNC_MIN_FILES * 2)
    Flushes(monkeypatch, fail_at=2)
    with pytest.raises(WriteError, match="may not survive a power loss"):
        commit_files(jobs)
    assert _contents(jobs) == [job.data for job in jobs]
    assert temp_leftovers(tmp_path) == []


def test_without_syncfs_a_large_batch_fsyncs_each_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where syncfs cannot be trusted (older kernels, other systems) nothing changes."""
    fsyncs: list[int] = []
    original: Callable[[int], None] = os.fsync
    monkeypatch.setattr(filesystem, "_syncfs", lambda: None)
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), original(fd))[1])
    jobs = _jobs(tmp_path, BULK_SYNC_MIN_FILES * 2)
    commit_files(jobs)
    assert len(fsyncs) == len(jobs) + 4 + 1
    assert _contents(jobs) == [job.data for job in jobs]
