"""The inter-process workspace lock: bounded waits, clear busy errors, telemetry."""

import subprocess
import sys
from collections.abc import Generator
from contextlib import contextmanager

import anyio
import filelock
import pytest

from tests.conftest import REPO_ROOT
from tests.fakes import FakeClock
from webplatform_digest.errors import WorkspaceBusyError, WriteError
from webplatform_digest.events import RecordingHook, Telemetry, WorkspaceLockWait
from webplatform_digest.storage.lock import LOCK_NAME, WorkspaceLock
from webplatform_digest.storage.workspace import Workspace


def _other_holder(workspace: Workspace) -> filelock.FileLock:
    """The same lock file taken through another descriptor (as another process would)."""
    return filelock.FileLock(workspace.root / ".monitoring" / LOCK_NAME)


async def test_the_lock_is_taken_and_given_back(workspace: Workspace) -> None:
    """Acquire creates .monitoring/workspace.lock; after release another holder gets it."""
    hook = RecordingHook()
    lock = WorkspaceLock(workspace, 1.0, Telemetry((hook,)))
    await lock.acquire()
    other = _other_holder(workspace)
    with pytest.raises(filelock.Timeout):
        other.acquire(timeout=0)
    lock.release()
    other.acquire(timeout=0)
    other.release()
    assert [e.outcome for e in hook.of(WorkspaceLockWait)] == ["acquired"]


@contextmanager
def _held_by_another_process(workspace: Workspace) -> Generator[subprocess.Popen[str]]:
    """A child process holding the workspace lock until its stdin is closed."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.write_worker", "hold", str(workspace.root)],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    try:
        yield child
    finally:
        child.kill()
        child.wait(timeout=5)
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()


async def test_a_waiter_gets_the_lock_only_after_another_process_lets_go(
    workspace: Workspace,
) -> None:
    """While another process holds the lock the waiter keeps waiting; once it lets go the
    waiter holds it, excluding everyone else, until it releases."""
    hook = RecordingHook()
    lock = WorkspaceLock(workspace, 30.0, Telemetry((hook,)))
    acquired = anyio.Event()

    async def take() -> None:
        await lock.acquire()
        acquired.set()

    with _held_by_another_process(workspace) as holder, anyio.fail_after(10):
        assert holder.stdin is not None
        assert holder.stdout is not None
        line = await anyio.to_thread.run_sync(holder.stdout.readline, abandon_on_cancel=True)
        assert line == "locked\n"
        async with anyio.create_task_group() as group:
            group.start_soon(take)
            await anyio.wait_all_tasks_blocked()  # the waiter was refused and is polling
            assert not acquired.is_set()
            assert hook.events == []
            holder.stdin.close()  # the other process lets go
            await acquired.wait()
        assert await anyio.to_thread.run_sync(holder.wait) == 0
    other = _other_holder(workspace)
    with pytest.raises(filelock.Timeout):
        other.acquire(timeout=0)
    lock.release()
    other.acquire(timeout=0)
    other.release()
    assert [e.outcome for e in hook.of(WorkspaceLockWait)] == ["acquired"]


async def test_the_wait_is_bounded_by_the_clock_and_ends_in_a_busy_error(
    workspace: Workspace, fake_clock: FakeClock
) -> None:
    """When the injected clock passes the bound, the waiter gives up with what to do next."""
    hook = RecordingHook()
    lock = WorkspaceLock(workspace, 10.0, Telemetry((hook,)), clock=fake_clock)
    failures: list[str] = []

    async def wait() -> None:
        with pytest.raises(WorkspaceBusyError) as caught:
            await lock.acquire()
        failures.append(str(caught.value))

    with _other_holder(workspace), anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(wait)
            await anyio.wait_all_tasks_blocked()
            fake_clock.advance(11.0)
    assert "busy" in failures[0]
    assert "WEBPLATFORM_WORKSPACE_LOCK_TIMEOUT" in failures[0]
    assert [e.seconds for e in hook.of(WorkspaceLockWait)] == [11.0]


async def test_a_workspace_that_cannot_be_written_is_named_in_one_line(
    workspace: Workspace,
) -> None:
    (workspace.root / ".monitoring").write_text("a file where the folder goes")
    lock = WorkspaceLock(workspace, 1.0)

    with pytest.raises(WriteError, match=f"cannot write the workspace {workspace.root}: "):
        await lock.acquire()
