"""The digest service: one path for shells, the tool's in-process runs and client rounds."""

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import pytest

from tests.digest_samples import sample_subjects, write_processed
from webplatform_digest.configs import governor_config
from webplatform_digest.container import Container
from webplatform_digest.errors import InputError, NotFoundError
from webplatform_digest.llm.offline import OfflineBackend
from webplatform_digest.runs.request import parse_run_request
from webplatform_digest.services.digest import (
    Round,
    RunSummary,
    plan_from_shell,
    resume_from_shell,
    run_limits,
    run_planned,
    run_with_backend,
    start_client_rounds,
)
from webplatform_digest.settings import Settings, load_settings
from webplatform_digest.storage.workspace import Workspace

T = TypeVar("T")


@pytest.fixture
def processed(workspace: Workspace) -> Workspace:
    """A workspace with Chrome 144 area data for css and javascript."""
    write_processed(workspace, sample_subjects())
    return workspace


@pytest.mark.parametrize(("enabled", "expected"), [(True, 6), (False, 1)])
def test_runs_and_the_governor_agree_on_the_concurrency(enabled: bool, expected: int) -> None:
    """Switching the concurrency optimisation off means one call at a time for both."""
    settings = load_settings(max_concurrency=6, concurrency_enabled=enabled)
    assert run_limits(settings).max_concurrency == expected
    assert governor_config(settings).max_concurrency == expected


def test_a_shell_run_of_an_unprocessed_release_is_refused_before_anything_is_written(
    processed: Workspace, settings: Settings
) -> None:
    """No run record, no telemetry file: planning reads files only."""
    with pytest.raises(NotFoundError, match="has not been processed yet"):
        plan_from_shell(settings, version=150)
    assert not processed.path(Workspace.MONITORING).exists()


def test_a_shell_plan_loads_the_requested_areas_with_the_shell_backend(
    processed: Workspace, settings: Settings
) -> None:
    """Offline without a base URL; areas as asked, languages as asked."""
    planned = plan_from_shell(settings, version="144", focus_areas="javascript", language="zh")
    assert planned.plan.backend == "offline"
    assert [s.data.area for s in planned.plan.subjects] == ["javascript"]
    assert planned.request.to_json()["languages"] == ["zh"]
    assert not processed.path(Workspace.MONITORING).exists()


async def _in_container(settings: Settings, action: Callable[[Container], Awaitable[T]]) -> T:
    """``action`` with a started container (as the CLI runs it)."""
    container = Container(settings)
    try:
        async with container.running():
            return await action(container)
    finally:
        container.close()


async def test_a_planned_shell_run_writes_its_digests_and_registers_its_parameters(
    processed: Workspace, settings: Settings
) -> None:
    """The planned backend is the one that runs; the registry keeps the request."""
    planned = plan_from_shell(settings, version=144, focus_areas="css", language="en")

    async def run(container: Container) -> tuple[RunSummary, dict[str, object]]:
        summary = await run_planned(container, planned)
        return summary, container.runs.get(summary.run_id).params

    summary, params = await _in_container(settings, run)
    assert (summary.status, summary.areas) == ("completed", {"css": {"en": "fallback"}})
    assert params == planned.request.to_json() | {"backend": "offline"}
    assert (processed.root / "digest_markdown/areas/css/chrome-144-en.md").exists()


async def test_client_rounds_and_in_process_runs_open_runs_the_same_way(
    processed: Workspace, settings: Settings
) -> None:
    """Both register the request with their backend label and start with the same plan."""

    async def both(container: Container) -> tuple[Round | RunSummary, list[dict[str, object]]]:
        request = parse_run_request(version=144, catalog=container.catalog, focus_areas="css")
        first = await start_client_rounds(container, request)
        offline = await run_with_backend(container, request, OfflineBackend())
        params = [container.runs.get(run.run_id).params for run in (first, offline)]
        return first, params

    first, (rounds_params, offline_params) = await _in_container(settings, both)
    assert isinstance(first, Round)
    assert [p.request_id for p in first.requests] == ["css.en.1"]
    assert rounds_params == offline_params | {"backend": "sampling"}
    assert offline_params["backend"] == "offline"


async def test_resuming_from_a_shell_checks_the_release_first(
    processed: Workspace, settings: Settings
) -> None:
    """A run of Chrome 144 is not resumed as Chrome 143, whatever its state."""
    planned = plan_from_shell(settings, version=144, focus_areas="css")

    async def resume_as_143(container: Container) -> None:
        summary = await run_planned(container, planned)
        with pytest.raises(InputError, match="is a digest of Chrome 144, not 143"):
            await resume_from_shell(container, summary.run_id, "offline", version="143")

    with anyio.fail_after(30):
        await _in_container(settings, resume_as_143)
