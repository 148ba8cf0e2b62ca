"""Planning and running digests with a container's services: the one path of the MCP tool (both
protocol eras), the CLI ``run`` command and the demo.

A new run is a validated ``RunRequest``, planned (its area data loaded into a ``RunPlan``), then
either driven in this process through the governor (``run_with_backend``) or handed to the
client as input-required rounds (``start_client_rounds``). An interrupted run is checked
(``check_resumable``) and finished either way. Shells have no MCP client: ``plan_from_shell``
validates and plans before any service starts, so a refused run leaves the workspace untouched.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import partial

import anyio

from webplatform_digest.areas.classify import FocusAreaManager
from webplatform_digest.container import Container
from webplatform_digest.digest.plan import RunPlan
from webplatform_digest.digest.prompts import RequestOptions
from webplatform_digest.digest.state import Failure
from webplatform_digest.errors import InputError
from webplatform_digest.llm.limits import effective_concurrency
from webplatform_digest.llm.offline import OfflineBackend
from webplatform_digest.llm.port import Backend, LLMReply
from webplatform_digest.llm.selection import BackendChoice, choose_backend, resume_choice
from webplatform_digest.models import Channel, parse_version
from webplatform_digest.runs.driver import RunLimits, resume_digest, run_digest
from webplatform_digest.runs.registry import new_run_id
from webplatform_digest.runs.request import RunRequest, build_plan, parse_run_request
from webplatform_digest.runs.rounds import (
    CLIENT_BACKEND,
    advance_rounds,
    resume_rounds,
    start_rounds,
)
from webplatform_digest.runs.session import ProgressSink, Round
from webplatform_digest.runs.summary import RunSummary
from webplatform_digest.settings import Settings, load_settings
from webplatform_digest.storage.area_store import AreaStore, load_catalog
from webplatform_digest.storage.workspace import Workspace

log = logging.getLogger(__name__)

__all__ = [
    "PlannedRun",
    "Round",
    "RunSummary",
    "advance_client_rounds",
    "check_resumable",
    "plan_from_shell",
    "plan_run",
    "request_options",
    "resume_client_rounds",
    "resume_from_shell",
    "resume_with_backend",
    "run_limits",
    "run_offline_digest",
    "run_planned",
    "run_with_backend",
    "server_backend",
    "shell_backend_choice",
    "shell_resume_settings",
    "start_client_rounds",
    "stored_backend",
]


@dataclass(frozen=True, slots=True)
class PlannedRun:
    """A validated, planned run that has not started (nothing is written yet)."""

    request: RunRequest
    plan: RunPlan
    #: why the planned backend was chosen (shown in the summary)
    backend_reason: str = ""


# Settings → run parameters ---------------------------------------------------------------


def run_limits(settings: Settings) -> RunLimits:
    """Concurrency, deadline and round budget of a run."""
    return RunLimits(
        max_concurrency=effective_concurrency(
            settings.governor.max_concurrency, enabled=settings.governor.concurrency_enabled
        ),
        run_deadline=settings.runs.deadline,
        round_budget=settings.runs.input_rounds,
        rate_limit=settings.governor.rate_limit,
    )


def request_options(settings: Settings) -> RequestOptions:
    """Per-call LLM parameters from settings."""
    return RequestOptions(max_tokens=settings.llm.max_tokens, temperature=settings.llm.temperature)


def _params(request: RunRequest, backend: str, settings: Settings) -> dict[str, object]:
    """A run's parameters as the registry stores them, with what resuming needs to reach the
    same backend again (its address and model; never a secret)."""
    params = request.to_json() | {"backend": backend}
    if backend == "openai":
        params |= {"llm_base_url": settings.llm.base_url, "llm_model": settings.llm.model}
    return params


def stored_backend(container: Container, run_id: str) -> tuple[str, str, str]:
    """The backend an interrupted run started with: kind, base URL and model ("" if unknown).

    Raises:
        NotFoundError: unknown run.
    """
    params = container.runs.get(run_id).params
    return (
        str(params.get("backend") or ""),
        str(params.get("llm_base_url") or ""),
        str(params.get("llm_model") or ""),
    )


def shell_resume_settings(
    settings: Settings, run_id: str, *, url_given: bool = False, model_given: bool = False
) -> tuple[Settings, BackendChoice]:
    """Settings and backend that finish ``run_id`` from a shell: the backend it started with,
    at the address and with the model stored for it (``--llm-base-url`` / ``--llm-model``, when
    given, win; the API key always comes from the environment). Never a silent downgrade.

    Raises:
        NotFoundError: unknown run. RunStateError: that backend is not available here.
    """
    container = Container(settings)
    try:
        kind, stored_url, stored_model = stored_backend(container, run_id)
    finally:
        container.close()
    url = settings.llm.base_url if url_given else stored_url or settings.llm.base_url
    model = settings.llm.model if model_given else stored_model or settings.llm.model
    choice = resume_choice(run_id, kind, client_can_sample=False, server_llm_configured=bool(url))
    if choice.kind == "openai":
        overrides = {"llm_backend": "openai", "llm_base_url": url, "llm_model": model}
        settings = load_settings(**(settings.model_dump() | overrides))
    return settings, choice


# Backends ---------------------------------------------------------------------------------


def server_backend(container: Container, kind: str) -> Backend:
    """The backend of a run this process drives without a client's model: the container's
    OpenAI-compatible endpoint for ``openai``, else offline (sampling needs the MCP session,
    so the tool builds that one)."""
    if kind == "openai":
        backend: Backend = container.openai_backend()
        return backend
    return OfflineBackend()


def shell_backend_choice(settings: Settings) -> BackendChoice:
    """``openai`` or ``offline`` for a shell (``auto``: openai when a base URL is set).

    Raises:
        ConfigError: ``openai`` without a base URL.
    """
    # a shell has no MCP client to sample from: a configured ``sampling`` means ``auto`` here
    configured = "auto" if settings.llm.backend == "sampling" else settings.llm.backend
    choice = choose_backend(
        configured, client_can_sample=False, server_llm_configured=bool(settings.llm.base_url)
    )
    log.info("backend %s: %s", choice.kind, choice.reason)
    return choice


# New runs ---------------------------------------------------------------------------------


def _plan(
    request: RunRequest,
    *,
    store: AreaStore,
    catalog: FocusAreaManager,
    settings: Settings,
    backend: str,
) -> RunPlan:
    return build_plan(
        request,
        run_id=new_run_id(),
        store=store,
        catalog=catalog,
        backend=backend,
        options=request_options(settings),
        parallel=settings.runs.parallel_languages,
    )


async def plan_run(container: Container, request: RunRequest, backend: str) -> RunPlan:
    """The plan of a new run: the request's area data from the container's store, read and
    parsed in a worker thread (tens of milliseconds of YAML that would stall the server's loop).

    Raises:
        NotFoundError: the release was not processed.
    """
    plan = partial(
        _plan,
        request,
        store=container.area_store,
        catalog=container.catalog,
        settings=container.settings,
        backend=backend,
    )
    return await anyio.to_thread.run_sync(plan)


def plan_from_shell(
    settings: Settings,
    *,
    version: object,
    channel: object = "stable",
    focus_areas: str | None = None,
    language: object = "bilingual",
    use_cache: bool = True,
    overwrite: bool = False,
) -> PlannedRun:
    """Validate a shell's arguments, choose its backend and plan the run, reading files only:
    no service has started, so a refused run leaves no run record and no telemetry behind.

    Raises:
        InputError: a bad argument. NotFoundError: the release was not processed.
        ConfigError: the backend is misconfigured.
    """
    workspace = Workspace.at(settings.workspace.root)
    catalog = load_catalog(workspace)
    request = parse_run_request(
        version=version,
        catalog=catalog,
        channel=channel,
        focus_areas=focus_areas,
        language=language,
        use_cache=use_cache,
        overwrite=overwrite,
    )
    # a store of its own: the container's reports to telemetry, which opens the run registry
    choice = shell_backend_choice(settings)
    plan = _plan(
        request,
        store=AreaStore(workspace, cache_enabled=settings.workspace.area_cache_enabled),
        catalog=catalog,
        settings=settings,
        backend=choice.kind,
    )
    return PlannedRun(request, plan, choice.reason)


async def run_planned(
    container: Container,
    planned: PlannedRun,
    backend: Backend | None = None,
    *,
    on_progress: ProgressSink | None = None,
) -> RunSummary:
    """Run a planned digest in this process through the governor with ``backend`` (default:
    the planned kind, as ``server_backend`` makes it).

    Raises:
        WriteError: a digest could not be written.
    """
    request = planned.request
    if backend is None:
        backend = server_backend(container, planned.plan.backend)
    summary = await run_digest(
        container.run_services(),
        planned.plan,
        backend,
        container.governor,
        limits=run_limits(container.settings),
        use_cache=request.use_cache,
        params=_params(request, backend.name, container.settings),
        on_progress=on_progress,
    )
    return replace(summary, backend_reason=planned.backend_reason)


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
    planned = PlannedRun(request, await plan_run(container, request, backend.name))
    return await run_planned(container, planned, backend, on_progress=on_progress)


async def run_offline_digest(
    container: Container, version: int, channel: Channel | str = Channel.STABLE
) -> RunSummary:
    """Bilingual deterministic digests of every area with data (no LLM)."""
    request = parse_run_request(version=version, catalog=container.catalog, channel=channel)
    return await run_with_backend(container, request, OfflineBackend())


async def start_client_rounds(
    container: Container, request: RunRequest, *, on_progress: ProgressSink | None = None
) -> Round | RunSummary:
    """Plan a run the client's model answers in input-required rounds; its first round (or,
    when the reply cache answered everything, its summary).

    Raises:
        NotFoundError: the release was not processed.
    """
    return await start_rounds(
        container.run_services(),
        await plan_run(container, request, CLIENT_BACKEND),
        limits=run_limits(container.settings),
        use_cache=request.use_cache,
        cache=container.governor.cache,
        params=_params(request, CLIENT_BACKEND, container.settings),
        on_progress=on_progress,
    )


async def advance_client_rounds(
    container: Container,
    run_id: str,
    token: str,
    replies: Mapping[str, LLMReply | Failure],
    *,
    on_progress: ProgressSink | None = None,
) -> Round | RunSummary:
    """Feed one round of the client's replies; the next round or the summary.

    Raises:
        RunStateError: the token is forged, expired, replayed or not this run's.
    """
    return await advance_rounds(
        container.run_services(),
        run_id,
        token,
        replies,
        limits=run_limits(container.settings),
        cache=container.governor.cache,
        on_progress=on_progress,
    )


# Interrupted runs -------------------------------------------------------------------------


def check_resumable(container: Container, run_id: str, version: int | None = None) -> None:
    """Fail early, with the reason, when ``run_id`` cannot be resumed as asked.

    Raises:
        NotFoundError: unknown run. InputError: it belongs to another release.
    """
    # rounds abandoned past the token's lifetime become interrupted now, not at the next start
    container.runs.recover_interrupted()
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


async def resume_from_shell(
    container: Container,
    run_id: str,
    backend: str,
    *,
    version: object = None,
    on_progress: ProgressSink | None = None,
) -> RunSummary:
    """Finish an interrupted run with a shell's backend (``shell_backend_choice``), checking
    first that it is a digest of ``version`` when one is given.

    Raises:
        InvalidVersionError: malformed version. NotFoundError: unknown run.
        InputError: another release. RunStateError: the run is not interrupted.
    """
    wanted = parse_version(version) if version is not None else None
    check_resumable(container, run_id, wanted)
    chosen = server_backend(container, backend)
    return await resume_with_backend(container, run_id, chosen, on_progress=on_progress)


async def resume_client_rounds(
    container: Container, run_id: str, *, on_progress: ProgressSink | None = None
) -> Round | RunSummary:
    """Continue an interrupted run as input-required rounds (lost requests are asked again).

    Raises:
        NotFoundError: unknown run. RunStateError: the run is not interrupted.
    """
    return await resume_rounds(
        container.run_services(),
        run_id,
        limits=run_limits(container.settings),
        cache=container.governor.cache,
        on_progress=on_progress,
    )
