"""Where a workspace keeps its run registry, and opening it as every way in does.

The container opens it for the server and the batch commands; ``runs`` and ``telemetry
summary`` open it on the light settings, without the container.
"""

from webplatform_digest.errors import WriteError
from webplatform_digest.runs.registry import RunRegistry
from webplatform_digest.storage.access import write_refusal
from webplatform_digest.storage.workspace import Workspace

REGISTRY_FILE = "runs.sqlite3"


def registry_exists(workspace: Workspace) -> bool:
    """Whether the workspace has a run registry (looking never creates one)."""
    return workspace.path(Workspace.monitoring_rel(REGISTRY_FILE)).is_file()


def open_run_registry(workspace: Workspace, *, retention: int, token_ttl: float) -> RunRegistry:
    """The registry of ``.monitoring/runs.sqlite3`` (created if absent), with the runs whose
    process died marked ``interrupted`` first.

    Raises:
        WriteError: the database cannot be opened.
    """
    path = workspace.path(Workspace.monitoring_rel(REGISTRY_FILE))
    try:
        registry = RunRegistry(path, retention=retention, token_ttl=token_ttl)
    except WriteError:
        # a workspace this process cannot write is still read: its runs are listed as they are
        if write_refusal(workspace.root) is None:
            raise
        return RunRegistry(path, token_ttl=token_ttl, read_only=True)
    registry.recover_interrupted()
    return registry
