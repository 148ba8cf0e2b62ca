"""Running a digest with a container's services: shared by the MCP tool, the CLI and the demo."""

from webplatform_digest.container import Container
from webplatform_digest.digest.plan import RunPlan
from webplatform_digest.digest.prompts import RequestOptions
from webplatform_digest.errors import InputError
from webplatform_digest.llm.offline import OfflineBackend
from webplatform_digest.llm.port import Backend
from webplatform_digest.models import Channel
from webplatform_digest.runs.driver import RunLimits, resume_digest, run_digest
from webplatform_digest.runs.registry import new_run_id
from webplatform_digest.runs.request import RunRequest, build_plan, parse_run_request
from webplatform_digest.runs.session import ProgressSink, RunSummary
from webplatform_digest.settings import Settings


def run_limits(settings: Settings) -> RunLimits:
    """Concurrency and deadline of a run (one call at a time when concurrency is switched off)."""
    concurrency = settings.governor.max_concurrency if settings.governor.concurrency_enabled else 1
    return RunLimits(
        max_concurrency=concurrency,
        run_deadline=settings.runs.deadline,
        round_budget=settings.runs.input_rounds,
    )


def request_options(settings: Settings) -> RequestOptions:
    """Per-call LLM parameters from settings."""
    return RequestOptions(max_tokens=settings.llm.max_tokens, temperature=settings.llm.temperature)


def plan_run(container: Container, request: RunRequest, backend: str) -> RunPlan:
    """The plan of a new run: the request's area data from the container's store.

    Raises:
        NotFoundError: the release was not processed.
    """
    return build_plan(
        request,
        run_id=new_run_id(),
        store=container.area_store,
        catalog=container.catalog,
        backend=backend,
        options=request_options(container.settings),
    )


async def run_plan(
    container: Container,
    plan: RunPlan,
    request: RunRequest,
    backend: Backend,
    *,
    on_progress: ProgressSink | None = None,
) -> RunSummary:
    """Run ``plan`` in this process through the governor with ``backend``.

    Raises:
        WriteError: a digest could not be written.
    """
    return await run_digest(
        container.run_services(),
        plan,
        backend,
        container.governor,
        limits=run_limits(container.settings),
        use_cache=request.use_cache,
        params=request.to_json() | {"backend": backend.name},
        on_progress=on_progress,
    )


async def run_with_backend(
    container: Container,
    request: RunRequest,
    backend: Backend,
    *,
    on_progress: ProgressSink | None = None,
) -> RunSummary:
    """Plan and run one digest in this process through the governor with ``backend``.

    Raises:
        NotFoundError: the release was not processed. WriteError: a digest could not be written.
    """
    plan = plan_run(container, request, backend.name)
    return await run_plan(container, plan, request, backend, on_progress=on_progress)


async def run_offline_digest(
    container: Container, version: int, channel: Channel | str = Channel.STABLE
) -> RunSummary:
    """Bilingual deterministic digests of every area with data (no LLM)."""
    request = parse_run_request(version=version, catalog=container.catalog, channel=channel)
    return await run_with_backend(container, request, OfflineBackend())


def check_resumable(container: Container, run_id: str, version: int | None = None) -> None:
    """Fail early, with the reason, when ``run_id`` cannot be resumed as asked.

    Raises:
        NotFoundError: unknown run. InputError: it belongs to another release.
    """
    record = container.runs.get(run_id)
    if version is not None and record.version != version:
        raise InputError(
            f"run {run_id[:64]!r} is a digest of Chrome {record.version}, not {version}"
        )


async def resume_with_backend(
    container: Container,
    run_id: str,
    backend: Backend,
    *,
    on_progress: ProgressSink | None = None,
) -> RunSummary:
    """Finish an interrupted run in this process with ``backend``.

    Raises:
        NotFoundError: unknown run. RunStateError: the run is not interrupted.
    """
    return await resume_digest(
        container.run_services(),
        run_id,
        backend,
        container.governor,
        limits=run_limits(container.settings),
        on_progress=on_progress,
    )
