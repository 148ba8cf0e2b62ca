"""Crash-safe commits and the shared write queue (reliability study cases 11-14)."""

import errno
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import anyio
import filelock
import pytest
from anyio import wait_all_tasks_blocked
from anyio.lowlevel import checkpoint

from tests.conftest import REPO_ROOT
from tests.write_worker import SET_FILES, TARGETS, footer_ok, temps_under
from webplatform_digest.errors import UnsafePathError, WorkspaceBusyError, WriteError
from webplatform_digest.events import (
    FileWritten,
    RecordingHook,
    Telemetry,
    WorkspaceLockWait,
    WriteQueueDepth,
)
from webplatform_digest.storage.commit import (
    FileJob,
    atomic_write,
    commit_files,
    stage,
    sweep_temps,
)
from webplatform_digest.storage.lock import LOCK_NAME
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import (
    BatchResult,
    DirectWriter,
    WriteQueue,
    WriteQueueConfig,
)

REL = PurePosixPath("digest_markdown/areas/css/chrome-144-en.md")


class Faults:
    """Counts calls of ``os.write``/``os.fsync``/``os.replace`` in this thread and fails one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, step: str, fail_at: int, code: int) -> None:
        self.calls = {"write": 0, "fsync": 0, "replace": 0}
        self.thread = threading.get_ident()
        for name in self.calls:
            monkeypatch.setattr(os, name, self._wrap(name, getattr(os, name), step, fail_at, code))

    def _wrap(
        self, name: str, original: Callable[..., object], step: str, fail_at: int, code: int
    ) -> Callable[..., object]:
        def counted(*args: object) -> object:
            if threading.get_ident() == self.thread:
                self.calls[name] += 1
                if name == step and self.calls[name] == fail_at:
                    raise OSError(code, os.strerror(code))
            return original(*args)

        return counted


def _leftover_temps(root: Path) -> list[Path]:
    return sorted(root.rglob(".tmp-*"))


def test_atomic_write_replaces_content_and_skips_identical_bytes(tmp_path: Path) -> None:
    """Changed bytes are written; identical bytes leave the very same inode in place."""
    target = tmp_path / "a" / "f.md"
    assert atomic_write(target, b"one") is True
    inode = target.stat().st_ino
    assert atomic_write(target, b"one") is False
    assert target.stat().st_ino == inode
    assert atomic_write(target, b"two") is True
    assert target.read_bytes() == b"two"
    assert _leftover_temps(tmp_path) == []


def test_atomic_write_keeps_the_mode_of_an_existing_file(tmp_path: Path) -> None:
    """A replaced file keeps its permissions; a new one is world-readable, not 0600."""
    fresh, kept = tmp_path / "fresh.md", tmp_path / "kept.md"
    atomic_write(fresh, b"x")
    kept.write_bytes(b"old")
    kept.chmod(0o640)
    atomic_write(kept, b"new")
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EACCES])
@pytest.mark.parametrize("step", ["write", "fsync", "replace"])
def test_a_failing_step_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, code: int
) -> None:
    """For every k-th call of the step: WriteError, old bytes intact (until the replace), no temp,
    and a failed fsync is never retried."""
    target = tmp_path / "d" / "f.md"
    target.parent.mkdir()
    with monkeypatch.context() as probe:
        counting = Faults(probe, "none", 0, code)
        target.write_bytes(b"old")
        atomic_write(target, b"new")
    total = counting.calls[step]
    assert total >= 1
    for k in range(1, total + 1):
        target.write_bytes(b"old")
        with monkeypatch.context() as patch:
            faults = Faults(patch, step, k, code)
            with pytest.raises(WriteError) as caught:
                atomic_write(target, b"new")
            after = dict(faults.calls)
        directory_sync = step == "fsync" and k == total  # the rename already happened
        assert target.read_bytes() == (b"new" if directory_sync else b"old")
        assert _leftover_temps(tmp_path) == []
        assert after[step] == k, "the failed call must be the last one of its kind"
        assert os.strerror(code).lower() in str(caught.value).lower() or "denied" in str(
            caught.value
        )


@pytest.mark.parametrize("step", ["write", "fsync", "replace"])
def test_a_failing_step_in_a_batch_never_leaves_a_torn_or_mixed_staging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    """Staging failures change nothing; a replace failure leaves earlier files new, later old."""
    jobs = [
        FileJob(PurePosixPath(f"f{i}"), tmp_path / f"f{i}", f"new{i}".encode()) for i in range(5)
    ]

    def reset() -> None:
        for i, job in enumerate(jobs):
            job.path.write_bytes(f"old{i}".encode())

    reset()
    for k in range(1, 6):
        reset()
        with monkeypatch.context() as patch:
            Faults(patch, step, k, errno.EIO)
            with pytest.raises(WriteError):
                commit_files(jobs)
        contents = [job.path.read_bytes() for job in jobs]
        if step == "replace":
            assert contents == [f"new{i}".encode() for i in range(k - 1)] + [
                f"old{i}".encode() for i in range(k - 1, 5)
            ]
        else:
            assert contents == [f"old{i}".encode() for i in range(5)]
        assert _leftover_temps(tmp_path) == []


def test_a_batch_into_new_folders_creates_each_folder_once_and_keeps_old_files_modes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forty files over new nested folders: one mkdir per folder, every file written with the
    default mode; beside them an existing file keeps its mode; the same batch again changes
    nothing."""
    made: list[str] = []
    original = os.mkdir

    def counted(path: Any, *args: Any, **kwargs: Any) -> None:
        made.append(os.fspath(path))
        original(path, *args, **kwargs)

    kept = tmp_path / "old" / "kept.md"
    kept.parent.mkdir()
    kept.write_bytes(b"old")
    kept.chmod(0o600)
    rels = [PurePosixPath(f"site/{i % 4}/{i % 2}/f{i}.md") for i in range(40)]
    jobs = [FileJob(rel, tmp_path / rel, str(rel).encode()) for rel in rels]
    jobs.append(FileJob(PurePosixPath("old/kept.md"), kept, b"new"))
    monkeypatch.setattr(os, "mkdir", counted)
    first = commit_files(jobs)
    assert sorted(made) == sorted({os.fspath(tmp_path / "site")} | {
        os.fspath(path) for job in jobs[:-1] for path in (job.path.parent, job.path.parent.parent)
    })  # fmt: skip
    assert len(first.written) == 41
    assert all(stat.S_IMODE(job.path.stat().st_mode) == 0o644 for job in jobs[:-1])
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.read_bytes() == b"new"
    assert commit_files(jobs) == BatchResult(unchanged=tuple(job.rel for job in jobs))
    assert _leftover_temps(tmp_path) == []


def test_sweep_removes_only_temp_files_and_skips_git_and_symlinks(tmp_path: Path) -> None:
    """Leftover ``.tmp-*.part`` files go; ordinary files, .git and linked directories stay."""
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    for directory in (root / "a" / "b", root / ".git", elsewhere):
        directory.mkdir(parents=True)
    for path in (root / ".tmp-abc123.part", root / "a" / "b" / ".tmp-x_y.part"):
        path.write_bytes(b"partial")
    kept = [root / "a" / "keep.md", root / ".git" / ".tmp-abc.part", elsewhere / ".tmp-zz.part"]
    for path in kept:
        path.write_bytes(b"keep")
    (root / "link").symlink_to(elsewhere, target_is_directory=True)
    assert sweep_temps(root) == 2
    assert all(path.exists() for path in kept)
    assert _leftover_temps(root / "a") == []


def test_sweep_keeps_temp_files_of_live_writers_and_removes_those_of_dead_ones(
    tmp_path: Path,
) -> None:
    """A temp named after a live pid may be a write in progress (another server): it stays."""
    dead_pid = _exited_pid()
    live = tmp_path / f".tmp-{os.getpid()}-abc.part"
    dead = tmp_path / f".tmp-{dead_pid}-abc.part"
    for path in (live, dead):
        path.write_bytes(b"partial")
    assert sweep_temps(tmp_path) == 1
    assert live.exists()
    assert not dead.exists()


def test_staged_temp_files_carry_the_writer_pid(tmp_path: Path) -> None:
    """Temps are named ``.tmp-<pid>-*.part`` so a sweep can tell whose they are."""
    target = tmp_path / "a.md"
    temp = stage(target, b"x")
    try:
        assert temp.name.startswith(f".tmp-{os.getpid()}-")
    finally:
        temp.unlink()


def _exited_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait(timeout=30)
    return process.pid


async def test_direct_writer_commits_and_removes_as_one_set(workspace: Workspace) -> None:
    """The queue-less writer reports written, unchanged and removed paths."""
    writer = DirectWriter(workspace)
    first = await writer.write_batch({PurePosixPath("a.md"): b"a", PurePosixPath("b.md"): b"b"})
    second = await writer.write_batch(
        {PurePosixPath("a.md"): b"a"}, remove=(PurePosixPath("b.md"), PurePosixPath("gone.md"))
    )
    assert first.written == (PurePosixPath("a.md"), PurePosixPath("b.md"))
    assert second == BatchResult((), (PurePosixPath("a.md"),), (PurePosixPath("b.md"),))
    with pytest.raises(UnsafePathError):
        await writer.write_batch({PurePosixPath("../x"): b"x"})


# -- the queue -------------------------------------------------------------------------------


def _queue_config(**changes: Any) -> WriteQueueConfig:
    values: dict[str, Any] = {"coalesce_window": 0.0, "lock_timeout": 5.0, "stage_threads": 2}
    values.update(changes)
    return WriteQueueConfig(**values)


def _count_replaces(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    original = os.replace

    def counted(src: str, dst: str) -> None:
        seen.append(os.fspath(dst))
        original(src, dst)

    monkeypatch.setattr(os, "replace", counted)
    return seen


async def test_queue_writes_reports_and_skips_unchanged_bytes(workspace: Workspace) -> None:
    """A write lands on disk; the same bytes again are reported unchanged; events say so."""
    hook = RecordingHook()
    async with WriteQueue.open(workspace, _queue_config(), Telemetry((hook,))) as queue:
        first = await queue.write(REL, b"body", kind="digest")
        second = await queue.write(REL, b"body", kind="digest")
    assert first.written == (REL,)
    assert second.unchanged == (REL,)
    assert workspace.path(REL).read_bytes() == b"body"
    outcomes = [(e.outcome, e.bytes, e.kind) for e in hook.of(FileWritten)]
    assert outcomes == [("written", 4, "digest"), ("unchanged", 0, "digest")]
    assert hook.of(WriteQueueDepth)
    assert hook.of(WorkspaceLockWait)


async def test_a_site_sized_batch_is_confined_off_the_event_loop_and_still_refuses_escapes(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Confining hundreds of paths takes an lstat each: a big batch does it in a worker
    thread, a small write on the loop; an escaping path fails either way, nothing written."""
    threads: list[str] = []
    original = Workspace.paths

    def recorded(self: Workspace, relatives: Any) -> list[Path]:
        threads.append(threading.current_thread().name)
        return original(self, relatives)

    monkeypatch.setattr(Workspace, "paths", recorded)
    site = {PurePosixPath(f"site/p{index}.md"): b"page" for index in range(100)}
    async with WriteQueue.open(workspace, _queue_config()) as queue:
        loop_thread = threading.current_thread().name
        threads.clear()
        result = await queue.write_batch(site)
        assert len(result.written) == 100
        assert loop_thread not in threads[:2]
        threads.clear()
        await queue.write(REL, b"one")
        assert threads[:2] == [loop_thread, loop_thread]
        with pytest.raises(UnsafePathError):
            await queue.write_batch({**site, PurePosixPath("../escape.md"): b"x"})
    assert not (workspace.root.parent / "escape.md").exists()


async def test_same_path_writes_in_the_window_coalesce_and_all_awaiters_get_the_result(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three quick writes to one path: one physical write of the last bytes, three results."""
    hook = RecordingHook()
    replaces = _count_replaces(monkeypatch)
    results: list[BatchResult] = []
    config = _queue_config(coalesce_window=0.05)
    async with WriteQueue.open(workspace, config, Telemetry((hook,))) as queue:

        async def submit(data: bytes) -> None:
            results.append(await queue.write(REL, data))

        async with anyio.create_task_group() as group:
            for data in (b"v1", b"v2", b"v3"):
                group.start_soon(submit, data)
    assert workspace.path(REL).read_bytes() == b"v3"
    assert len(replaces) == 1
    assert results == [BatchResult(written=(REL,))] * 3
    outcomes = sorted(e.outcome for e in hook.of(FileWritten))
    assert outcomes == ["coalesced", "coalesced", "written"]


async def test_coalescing_switched_off_writes_every_job_in_order(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With coalescing disabled each write is committed; the last submitted wins."""
    replaces = _count_replaces(monkeypatch)
    config = _queue_config(coalescing=False)
    async with WriteQueue.open(workspace, config) as queue, anyio.create_task_group() as group:
        for data in (b"v1", b"v2", b"v3"):
            group.start_soon(queue.write, REL, data)
            await checkpoint()
    assert len(replaces) == 3
    assert workspace.path(REL).read_bytes() == b"v3"


async def test_a_batch_between_two_single_writes_keeps_its_place(workspace: Workspace) -> None:
    """single(A), batch(B), single(C) on one path: C is last, and the batch was not skipped."""
    hook = RecordingHook()
    config = _queue_config(coalesce_window=0.05)
    queue_context = WriteQueue.open(workspace, config, Telemetry((hook,)))
    async with queue_context as queue, anyio.create_task_group() as group:
        group.start_soon(queue.write, REL, b"A")
        await wait_all_tasks_blocked()
        group.start_soon(queue.write_batch, {REL: b"B"})
        await wait_all_tasks_blocked()
        group.start_soon(queue.write, REL, b"C")
    assert workspace.path(REL).read_bytes() == b"C"
    assert [e.outcome for e in hook.of(FileWritten)] == ["written"] * 3


async def test_a_full_queue_makes_submitters_wait_then_fail_clearly(workspace: Workspace) -> None:
    """Queue of one, worker blocked by a reader: one job in the worker's hands, one queued, and
    the three later submitters get a 'queue is full' error once the submit bound passes."""
    config = _queue_config(queue_size=1, submit_timeout=0.05, coalescing=False)
    outcomes: dict[int, str] = {}
    refused = anyio.Event()
    async with WriteQueue.open(workspace, config) as queue:

        async def submit(index: int) -> None:
            try:
                await queue.write(PurePosixPath(f"q/{index}.md"), b"x")
                outcomes[index] = "ok"
            except WriteError as exc:
                outcomes[index] = str(exc)
                if len(outcomes) == 3:
                    refused.set()

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group, queue.reading():
                for index in range(5):
                    group.start_soon(submit, index)
                await wait_all_tasks_blocked()
                assert queue.depth <= 1
                await refused.wait()  # the reader keeps the worker blocked until then
    failures = [text for text in outcomes.values() if text != "ok"]
    assert len(failures) == 3
    assert all("write queue is full" in text for text in failures)
    assert list(outcomes.values()).count("ok") == 2
    assert len(list((workspace.root / "q").iterdir())) == 2


async def test_a_write_error_reaches_the_awaiter_and_the_queue_keeps_working(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while staging: WriteError to the caller, old file intact, next write succeeds."""
    path = workspace.path(REL)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"old")
    hook = RecordingHook()
    async with WriteQueue.open(workspace, _queue_config(), Telemetry((hook,))) as queue:
        original = os.fsync
        with monkeypatch.context() as patch:
            patch.setattr(os, "fsync", _raising(errno.ENOSPC))
            with pytest.raises(WriteError, match="no space left"):
                await queue.write(REL, b"new")
        monkeypatch.setattr(os, "fsync", original)
        assert path.read_bytes() == b"old"
        assert _leftover_temps(workspace.root) == []
        await queue.write(REL, b"new")
    assert path.read_bytes() == b"new"
    assert [e.outcome for e in hook.of(FileWritten)] == ["error", "written"]


def _raising(code: int) -> Callable[..., None]:
    def fail(*_: object) -> None:
        raise OSError(code, os.strerror(code))

    return fail


async def test_a_reader_sees_the_old_or_the_new_batch_never_a_mix(workspace: Workspace) -> None:
    """While ``reading()`` is held, a batch waits; afterwards all of it is visible."""
    names = [PurePosixPath(f"set/{i}.md") for i in range(4)]
    async with WriteQueue.open(workspace, _queue_config()) as queue:
        await queue.write_batch(dict.fromkeys(names, b"old"))
        async with anyio.create_task_group() as group, queue.reading():
            group.start_soon(queue.write_batch, dict.fromkeys(names, b"new"))
            await wait_all_tasks_blocked()
            assert {workspace.path(n).read_bytes() for n in names} == {b"old"}
        assert {await queue.read(n) for n in names} == {b"new"}
        assert await queue.read(PurePosixPath("set/missing.md")) is None


async def test_stale_temps_are_swept_when_the_queue_opens(workspace: Workspace) -> None:
    """Temp files left by a crash are removed before the first job runs."""
    nested = workspace.root / "digest_markdown" / "areas"
    nested.mkdir(parents=True)
    (nested / ".tmp-dead1.part").write_bytes(b"torn")
    (workspace.root / ".tmp-dead2.part").write_bytes(b"torn")
    async with WriteQueue.open(workspace, _queue_config()) as queue:
        assert queue.swept == 2
    assert _leftover_temps(workspace.root) == []


async def test_start_and_aclose_drain_pending_writes_and_refuse_later_ones(
    workspace: Workspace,
) -> None:
    """The explicit lifecycle works inside a task group; writes after close fail clearly."""
    queue = WriteQueue(workspace, _queue_config())
    await queue.start()
    async with anyio.create_task_group() as group:
        for index in range(20):
            group.start_soon(queue.write, PurePosixPath(f"many/{index}.md"), b"x")
    await queue.aclose()
    assert len(list((workspace.root / "many").iterdir())) == 20
    assert not queue.running
    with pytest.raises(WriteError, match="not running"):
        await queue.write(REL, b"late")


async def test_a_lock_held_by_another_holder_gives_a_clear_busy_error(
    workspace: Workspace,
) -> None:
    """Lock held elsewhere past the timeout: WorkspaceBusyError naming the lock and the setting."""
    lock_path = workspace.root / ".monitoring" / LOCK_NAME
    lock_path.parent.mkdir()
    hook = RecordingHook()
    with filelock.FileLock(lock_path), pytest.raises(WorkspaceBusyError) as caught:
        async with WriteQueue.open(workspace, _queue_config(lock_timeout=0.2), Telemetry((hook,))):
            pass
    message = str(caught.value)
    assert "busy" in message
    assert LOCK_NAME in message
    assert "WORKSPACE_LOCK_TIMEOUT" in message
    assert [e.outcome for e in hook.of(WorkspaceLockWait)] == ["timeout"]


async def test_a_write_waits_for_the_lock_and_fails_busy_after_the_bound(
    workspace: Workspace,
) -> None:
    """A queue already running reports busy for writes while another holder keeps the lock."""
    async with WriteQueue.open(workspace, _queue_config(lock_timeout=0.2)) as queue:
        lock = filelock.FileLock(workspace.root / ".monitoring" / LOCK_NAME)
        with lock, pytest.raises(WorkspaceBusyError):
            await queue.write(REL, b"x")
        await queue.write(REL, b"x")
    assert workspace.path(REL).read_bytes() == b"x"


# -- processes -------------------------------------------------------------------------------


def _worker(*args: str, stdin: int = subprocess.PIPE) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.write_worker", *args],
        cwd=REPO_ROOT,
        stdin=stdin,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def _lines(process: subprocess.Popen[str]) -> Iterator[list[str]]:
    assert process.stdout is not None
    for line in process.stdout:
        yield line.split()


def _torn(path: Path) -> bool:
    return path.exists() and not footer_ok(path.read_bytes())


@pytest.mark.system
def test_sigkill_at_random_points_never_leaves_a_torn_file(tmp_path: Path) -> None:
    """120 writers killed by SIGKILL (inside the write protocol or from outside): every target
    is a complete file with a valid checksum, and each start sweeps the orphans."""
    root = tmp_path / "ws"
    root.mkdir()
    rng = random.Random(20260611)
    torn = swept_total = orphans_total = 0
    with _worker("forkserver", str(root)) as server:
        assert server.stdin is not None
        lines = _lines(server)
        for iteration in range(120):
            orphans = temps_under(root)
            inside = iteration % 3 != 0
            kill_after = rng.randint(1, 90) if inside else 0
            server.stdin.write(f"spawn {iteration} {kill_after}\n")
            server.stdin.flush()
            ready = next(lines)
            assert ready[0] == "ready"
            assert int(ready[2]) == orphans
            assert int(ready[3]) == 0
            swept_total, orphans_total = swept_total + int(ready[2]), orphans_total + orphans
            if not inside:
                time.sleep(rng.uniform(0, 0.02))  # a random moment of the write loop
                os.kill(int(ready[1]), signal.SIGKILL)
            exited = next(lines)
            assert exited[0] == "exited"
            assert os.WIFSIGNALED(int(exited[2]))
            torn += sum(1 for rel in TARGETS if _torn(root / rel))
        server.stdin.write("quit\n")
    assert torn == 0
    assert swept_total == orphans_total
    assert any((root / rel).exists() for rel in TARGETS)


@pytest.mark.system
def test_two_processes_on_one_root_serialise_their_batches(tmp_path: Path) -> None:
    """Two writer processes: a reader holding the workspace lock always sees one generation."""
    root = tmp_path / "ws"
    root.mkdir()
    writers = [_worker("batches", str(root), name, "25", stdin=subprocess.DEVNULL) for name in "ab"]
    for writer in writers:
        assert writer.stdout is not None
        writer.stdout.close()
    lock = filelock.FileLock(root / ".monitoring" / LOCK_NAME)
    checks = mixed = 0
    deadline = time.monotonic() + 60
    while any(w.poll() is None for w in writers) and time.monotonic() < deadline:
        if not (root / ".monitoring").is_dir():
            continue
        with lock:
            contents = [(root / rel).read_bytes() for rel in SET_FILES if (root / rel).exists()]
        if contents:
            checks += 1
            mixed += len({data.split(b"\n", 1)[0] for data in contents}) != 1 or len(contents) != 5
    assert [w.wait(timeout=30) for w in writers] == [0, 0]
    final = [(root / rel).read_bytes() for rel in SET_FILES]
    assert mixed == 0
    assert checks > 0
    assert len({data.split(b"\n", 1)[0] for data in final}) == 1
    assert all(footer_ok(data) for data in final)


@pytest.mark.system
async def test_a_second_process_holding_the_lock_makes_this_one_fail_busy(
    workspace: Workspace,
) -> None:
    """Another process keeps the workspace lock: opening our queue fails with a busy error."""
    with _worker("hold", str(workspace.root)) as holder:
        assert next(_lines(holder)) == ["locked"]
        with pytest.raises(WorkspaceBusyError, match="busy"):
            async with WriteQueue.open(workspace, _queue_config(lock_timeout=0.3)):
                pass
    async with WriteQueue.open(workspace, _queue_config()) as queue:
        await queue.write(REL, b"after")


async def test_an_error_in_the_body_of_open_propagates_unwrapped(workspace: Workspace) -> None:
    """Callers catch their own exception type, not an exception group from the worker."""
    with pytest.raises(LookupError, match="from the body"):
        async with WriteQueue.open(workspace, _queue_config()):
            raise LookupError("from the body")
