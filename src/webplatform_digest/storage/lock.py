"""The inter-process workspace lock (``.monitoring/workspace.lock``), held only while committing.

Two server processes (two MCP host windows) or a server and a CLI run may share one workspace;
the lock serialises their commits and reads. A waiter polls without blocking the event loop and
gives up after the configured bound with a ``WorkspaceBusyError`` that says what to do.
"""

import anyio
import filelock

from webplatform_digest.clock import Clock, monotonic
from webplatform_digest.errors import WorkspaceBusyError, WriteError
from webplatform_digest.events import Telemetry, WorkspaceLockWait
from webplatform_digest.storage.commit import reason
from webplatform_digest.storage.workspace import Workspace

LOCK_NAME = "workspace.lock"
_POLL = 0.05


class WorkspaceLock:
    """A non-reentrant, polling file lock on one workspace; acquire and release in one thread."""

    def __init__(
        self,
        workspace: Workspace,
        timeout: float,
        telemetry: Telemetry | None = None,
        *,
        clock: Clock = monotonic,
    ) -> None:
        self._workspace = workspace
        self._timeout = timeout
        self._telemetry = telemetry or Telemetry()
        self._clock = clock
        self.rel = Workspace.monitoring_rel(LOCK_NAME)
        self._path = workspace.path(self.rel)
        self._lock = filelock.FileLock(self._path)

    async def acquire(self) -> None:
        """Take the lock, waiting at most the timeout.

        Raises:
            WorkspaceBusyError: another holder kept it past the timeout.
            WriteError: the lock file cannot be opened.
        """
        started = self._clock()
        while True:
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                self._lock.acquire(timeout=0)
                break
            except filelock.Timeout:
                waited = self._clock() - started
                if waited >= self._timeout:
                    self._telemetry.emit(WorkspaceLockWait(seconds=waited, outcome="timeout"))
                    raise WorkspaceBusyError(self._busy_message()) from None
                await anyio.sleep(min(_POLL, self._timeout - waited))
            except OSError as exc:
                raise WriteError(
                    f"cannot write the workspace {self._workspace.root}: {reason(exc)}"
                    f" (taking the lock {self.rel}); reading commands still work here"
                ) from exc
        waited = self._clock() - started
        self._telemetry.emit(WorkspaceLockWait(seconds=waited, outcome="acquired"))

    def release(self) -> None:
        """Give the lock back (no-op if not held)."""
        if self._lock.is_locked:
            self._lock.release()

    def _busy_message(self) -> str:
        return (
            f"workspace {self._workspace.root} is busy: another webplatform-digest process has "
            f"held {self.rel} for more than {self._timeout:g} s; wait for it to finish "
            "(or raise WEBPLATFORM_WORKSPACE_LOCK_TIMEOUT) and try again"
        )
