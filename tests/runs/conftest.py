"""Fixtures of the run tests: a real registry and writer in a temporary workspace."""

from collections.abc import Iterator

import pytest

from webplatform_digest.events import RecordingHook, Telemetry
from webplatform_digest.runs.event_log import RunRegistryHook
from webplatform_digest.runs.registry import RunRegistry
from webplatform_digest.runs.session import RunServices
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import DirectWriter


@pytest.fixture
def recorder() -> RecordingHook:
    """Every telemetry event of the test."""
    return RecordingHook()


@pytest.fixture
def services(workspace: Workspace, recorder: RecordingHook) -> Iterator[RunServices]:
    """Real registry and writer in the temporary workspace; recording telemetry."""
    registry = RunRegistry(workspace.path(Workspace.monitoring_rel("runs.sqlite3")))
    telemetry = Telemetry((recorder, RunRegistryHook(registry)))
    yield RunServices(workspace, registry, DirectWriter(workspace), telemetry)
    registry.close()
