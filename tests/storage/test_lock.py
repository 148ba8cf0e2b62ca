"""The inter-process workspace lock: bounded waits, clear busy errors, telemetry."""

import anyio
import filelock
import pytest

from tests.fakes import FakeClock
from webplatform_digest.errors import WorkspaceBusyError
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
    assert [e.outcome for e in hook.of(WorkspaceLockWait)] == ["acquired"]  # type: ignore[attr-defined]


async def test_a_waiter_gets_the_lock_when_the_holder_lets_go(workspace: Workspace) -> None:
    """A holder that finishes within the bound only delays the waiter."""
    lock = WorkspaceLock(workspace, 30.0)
    other = _other_holder(workspace)
    other.acquire()
    async with anyio.create_task_group() as group:
        group.start_soon(lock.acquire)
        await anyio.wait_all_tasks_blocked()
        other.release()
    lock.release()


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
    assert [e.seconds for e in hook.of(WorkspaceLockWait)] == [11.0]  # type: ignore[attr-defined]
