"""Crash-safe commits of files into the workspace (blocking I/O, run from one writer thread).

Per file: temp file in the target's directory → write → fsync → ``os.replace`` → fsync of the
directory. A set of files is committed in two phases: every changed file is *staged* (written and
fsynced to its temp) first, and only when all are staged does any replace happen, so a write error
(ENOSPC, EIO, EACCES) while staging leaves every old file intact. An fsync error is never retried:
after a failed fsync Linux may have dropped the dirty pages, so a second fsync proves nothing.

A batch of at least ``BULK_SYNC_MIN_FILES`` changed files stages without per-file fsyncs and
makes them durable with one ``syncfs`` per filesystem before any replace, and the renames with one
more after (see :mod:`webplatform_digest.storage.filesystem`): the same two phases, one journal
commit each instead of one per file.

A batch looks at each folder once: a folder that does not exist yet holds no old file (nothing
to compare, no mode to keep) and is created once, however many files go into it.

Guarantee: after a crash each target is its previous or its new complete content; leftover
``.tmp-*.part`` files are expected after a crash and are removed by :func:`sweep_temps`.
Assumes a local POSIX filesystem that honours fsync and one writer per workspace (a lock).
"""

import contextlib
import errno
import functools
import itertools
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

from webplatform_digest.errors import WriteError
from webplatform_digest.storage.filesystem import FilesystemFlush, bulk_sync_available
from webplatform_digest.storage.workspace import Workspace

log = logging.getLogger(__name__)

TEMP_PREFIX = ".tmp-"
TEMP_SUFFIX = ".part"
_TEMP_NAME = re.compile(r"^\.tmp-(?:(\d{1,10})-)?[A-Za-z0-9_]{1,64}\.part$")
#: directories the start-up sweep never descends into
_SWEEP_SKIP = frozenset({".git", ".hg", ".venv", "node_modules", "_site", ".jekyll-cache"})
_DEFAULT_MODE = 0o644
#: numbers temp names within this process (the pid in the name separates processes)
_TEMP_NUMBERS = itertools.count()
#: attempts at a free temp name (a name is only taken by a leftover of a dead process that had
#: this pid, so a second attempt practically always succeeds)
_TEMP_ATTEMPTS = 100
#: changed files from which a batch syncs whole filesystems instead of each file and folder
BULK_SYNC_MIN_FILES = 16
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What a batch write did, by workspace-relative path."""

    written: tuple[PurePosixPath, ...] = ()
    unchanged: tuple[PurePosixPath, ...] = ()
    removed: tuple[PurePosixPath, ...] = ()


@dataclass(frozen=True, slots=True)
class FileJob:
    """One file to commit: its workspace-relative name, confined absolute path and bytes."""

    rel: PurePosixPath
    path: Path
    data: bytes = b""


#: applies a function to each item, possibly in parallel (``map`` or ``Executor.map``)
Mapper = Callable[[Callable[[Any], Any], Sequence[Any]], Iterable[Any]]


def reason(exc: OSError) -> str:
    """A short human reason for an OS error (no absolute paths)."""
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno == errno.EIO:
        return "input/output error"
    return exc.strerror or type(exc).__name__


def _new_mode(path: Path, data: bytes) -> int | None:
    """None if ``path`` already holds exactly ``data``; else the mode its new version gets
    (the old file's, or the default for a new file). One ``stat`` answers both."""
    try:
        info = os.stat(path)
    except OSError:
        return _DEFAULT_MODE
    if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
        return stat.S_IMODE(info.st_mode)
    try:
        same = path.read_bytes() == data
    except OSError:
        same = False
    return None if same else stat.S_IMODE(info.st_mode)


def stage(path: Path, data: bytes, mode: int | None = None, *, durable: bool = True) -> Path:
    """Write ``data`` to a new temp file beside ``path``, fsynced unless the caller syncs the
    whole filesystem (``durable=False``); return the temp's path. The temp gets ``mode`` (by
    default: the mode of ``path``, or 0644 for a new file).

    Raises:
        OSError: the temp is removed before the error propagates; nothing else changed.
    """
    fd, temp = _open_temp(path.parent)
    try:
        try:
            os.fchmod(fd, _mode_of(path) if mode is None else mode)
            _write_all(fd, data)
            if durable:
                os.fsync(fd)  # not retried on failure: see the module docstring
        finally:
            os.close(fd)
    except BaseException:
        discard(temp)
        raise
    return temp


def _open_temp(directory: Path) -> tuple[int, Path]:
    """A new, empty temp file in ``directory`` (created exclusively, never through a link)."""
    # the writer's pid in the name tells a sweep which temps may still be in use
    prefix = f"{TEMP_PREFIX}{os.getpid()}-"
    for _ in range(_TEMP_ATTEMPTS):
        temp = directory / f"{prefix}{next(_TEMP_NUMBERS)}{TEMP_SUFFIX}"
        try:
            return os.open(temp, _TEMP_FLAGS, 0o600), temp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temp file name", str(directory))


def _mode_of(path: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return _DEFAULT_MODE


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def discard(temp: Path) -> None:
    """Remove a temp file, ignoring errors (the start-up sweep catches what is left)."""
    with contextlib.suppress(OSError):
        os.unlink(temp)


def fsync_directory(directory: Path) -> None:
    """Make renames in ``directory`` durable (no-op where directories cannot be opened).

    Raises:
        OSError: the fsync itself failed.
    """
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_directory(directory: Path) -> set[Path]:
    """Create ``directory`` and missing parents; return the parents whose entries changed."""
    missing: list[Path] = []
    current = directory
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            path.mkdir()
    return {path.parent for path in missing}


def commit_files(
    files: Sequence[FileJob], removals: Sequence[FileJob] = (), *, mapper: Mapper = map
) -> BatchResult:
    """Commit ``files`` (in order) and remove ``removals`` as one set.

    Stage every changed file, then remove, then replace in order, then fsync the directories.

    Raises:
        WriteError: staging failed (nothing changed), or a remove/replace/directory fsync failed
            (the message says what did change; every file is still complete).
    """
    folders = dict.fromkeys(job.path.parent for job in files)
    existing = {folder for folder in folders if folder.is_dir()}
    modes = [
        _new_mode(job.path, job.data) if job.path.parent in existing else _DEFAULT_MODE
        for job in files
    ]
    changed = [(job, mode) for job, mode in zip(files, modes, strict=True) if mode is not None]
    unchanged = tuple(job.rel for job, mode in zip(files, modes, strict=True) if mode is None)
    dirty = _create_folders([job for job, _ in changed], existing)
    jobs = [job for job, _ in changed]
    if len(changed) >= BULK_SYNC_MIN_FILES and bulk_sync_available():
        with _open_flush(jobs, removals, dirty) as flush:
            temps = _stage_all(changed, mapper, durable=False)
            _sync_staged(flush, jobs, temps)
            removed = _remove_all(removals, temps, dirty)
            _install_all(jobs, temps)
            _sync_installed(flush, jobs)
    else:
        temps = _stage_all(changed, mapper, durable=True)
        removed = _remove_all(removals, temps, dirty)
        _install_all(jobs, temps)
        _sync_directories(dirty | {job.path.parent for job in jobs}, jobs, mapper)
    return BatchResult(tuple(job.rel for job in jobs), unchanged, removed)


def _open_flush(
    jobs: Sequence[FileJob], removals: Sequence[FileJob], dirty: set[Path]
) -> FilesystemFlush:
    """The flush of every filesystem the batch touches, opened before anything is written.

    Raises:
        WriteError: a folder could not be opened (nothing was written yet).
    """
    folders = dict.fromkeys(job.path.parent for job in jobs)
    folders.update(dict.fromkeys(sorted(dirty)))
    folders.update(dict.fromkeys(j.path.parent for j in removals if j.path.parent.is_dir()))
    try:
        return FilesystemFlush(folders)
    except OSError as exc:
        raise WriteError(f"cannot write {jobs[0].rel}: {reason(exc)}; nothing was changed") from exc


def _create_folders(jobs: Sequence[FileJob], existing: set[Path]) -> set[Path]:
    """Create the missing folders of ``jobs``, each once; the folders whose entries changed.

    Raises:
        WriteError: a folder could not be created.
    """
    dirty: set[Path] = set()
    missing: dict[Path, FileJob] = {}
    for job in jobs:
        if job.path.parent not in existing:
            missing.setdefault(job.path.parent, job)  # an error names the first file
    for folder, job in sorted(missing.items()):
        try:
            dirty |= ensure_directory(folder)
        except OSError as exc:
            raise WriteError(f"cannot create the folder of {job.rel}: {reason(exc)}") from exc
    return dirty


def _stage_one(item: tuple[FileJob, int], *, durable: bool) -> Path | OSError:
    job, mode = item
    try:
        return stage(job.path, job.data, mode, durable=durable)
    except OSError as exc:
        return exc


def _stage_all(
    changed: Sequence[tuple[FileJob, int]], mapper: Mapper, *, durable: bool
) -> list[Path]:
    outcomes = list(mapper(functools.partial(_stage_one, durable=durable), changed))
    temps = [item for item in outcomes if isinstance(item, Path)]
    for (job, _), item in zip(changed, outcomes, strict=True):
        if isinstance(item, OSError):
            for temp in temps:
                discard(temp)
            raise WriteError(f"cannot write {job.rel}: {reason(item)}; nothing was changed")
    return temps


def _remove_all(
    removals: Sequence[FileJob], temps: list[Path], dirty: set[Path]
) -> tuple[PurePosixPath, ...]:
    removed: list[PurePosixPath] = []
    for job in removals:
        try:
            if not job.path.is_file():
                continue
            os.unlink(job.path)
        except OSError as exc:
            for temp in temps:
                discard(temp)
            done = f" ({len(removed)} other files were removed)" if removed else ""
            raise WriteError(f"cannot remove {job.rel}: {reason(exc)}{done}") from exc
        removed.append(job.rel)
        dirty.add(job.path.parent)
    return tuple(removed)


def _install_all(changed: Sequence[FileJob], temps: list[Path]) -> None:
    for index, (job, temp) in enumerate(zip(changed, temps, strict=True)):
        try:
            os.replace(temp, job.path)
        except OSError as exc:
            for rest in temps[index:]:
                discard(rest)
            done = f"; {index} earlier files of the batch were replaced" if index else ""
            raise WriteError(f"cannot replace {job.rel}: {reason(exc)}{done}") from exc


def _sync_staged(flush: FilesystemFlush, jobs: Sequence[FileJob], temps: list[Path]) -> None:
    """Make every staged temp durable before any replace (one flush per filesystem).

    Raises:
        WriteError: the flush failed; the temps are removed and nothing was changed.
    """
    try:
        flush.sync()
    except OSError as exc:
        for temp in temps:
            discard(temp)
        raise WriteError(
            f"cannot write {jobs[0].rel} and {len(jobs) - 1} other files: {reason(exc)}; "
            "nothing was changed"
        ) from exc


def _sync_installed(flush: FilesystemFlush, jobs: Sequence[FileJob]) -> None:
    """Make the renames and removals durable (one flush per filesystem).

    Raises:
        WriteError: the flush failed (every file is complete, old or new).
    """
    try:
        flush.sync()
    except OSError as exc:
        _raise_unsynced(jobs, exc)


def _sync_one(directory: Path) -> OSError | None:
    try:
        fsync_directory(directory)
    except OSError as exc:
        return exc
    return None


def _sync_directories(directories: set[Path], changed: Sequence[FileJob], mapper: Mapper) -> None:
    failures = [exc for exc in mapper(_sync_one, sorted(directories)) if exc is not None]
    if failures:
        _raise_unsynced(changed, failures[0])


def _raise_unsynced(changed: Sequence[FileJob], exc: OSError) -> NoReturn:
    names = ", ".join(str(job.rel) for job in changed[:3])
    raise WriteError(
        f"wrote {names} but could not sync its directory: {reason(exc)}; "
        "the change may not survive a power loss"
    ) from exc


def sweep_temps(root: Path) -> int:
    """Delete leftover ``.tmp-*.part`` files under ``root`` (not following symlinks).

    A temp whose writer process is still alive (this one included) is kept: it may be a write
    in progress, e.g. another server's progress file.
    """
    count = 0
    for directory, subdirs, names in os.walk(root, followlinks=False):
        subdirs[:] = [name for name in subdirs if name not in _SWEEP_SKIP]
        for name in names:
            match = _TEMP_NAME.fullmatch(name)
            if match and not (match.group(1) and _alive(int(match.group(1)))):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(directory, name))
                    count += 1
    if count:
        log.info("removed %d leftover temp files under the workspace", count)
    return count


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (a reused pid keeps a leftover until that process ends)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OverflowError:
        return False
    return True


def file_jobs(workspace: Workspace, files: Mapping[PurePosixPath, bytes]) -> tuple[FileJob, ...]:
    """Jobs for ``files``, each path confined to the workspace.

    Raises:
        UnsafePathError: a path leaves the workspace.
    """
    paths = workspace.paths(files)
    return tuple(
        FileJob(rel, path, data) for (rel, data), path in zip(files.items(), paths, strict=True)
    )


def removal_jobs(
    workspace: Workspace, remove: Sequence[PurePosixPath], keep: Mapping[PurePosixPath, bytes]
) -> tuple[FileJob, ...]:
    """Jobs for removing ``remove`` (minus anything also being written), confined.

    Raises:
        UnsafePathError: a path leaves the workspace.
    """
    wanted = [rel for rel in remove if rel not in keep]
    return tuple(
        FileJob(rel, path) for rel, path in zip(wanted, workspace.paths(wanted), strict=True)
    )


def atomic_write(target: Path, data: bytes) -> bool:
    """Replace ``target`` with ``data`` crash-safely. Returns False if the bytes were identical.

    Raises:
        WriteError: any OS error; the old file is left intact and the temp file removed.
    """
    return bool(commit_files([FileJob(PurePosixPath(target.name), target, data)]).written)
