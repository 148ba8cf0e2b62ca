"""``webplatform-digest run``: write the per-area digests of one release from the shell.

The server-side driver runs the digest with the container's governor and write queue; a rich
progress bar goes to stderr on a terminal, ``--json`` prints the summary on stdout. ``--llm auto``
means the OpenAI-compatible backend when a base URL is configured, else offline. This path never
imports fastmcp (the CLI stays small: see ``tests/cli/test_digest.py``).
"""

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable
from typing import Any

from webplatform_digest.cli._common import emit_json, with_container
from webplatform_digest.container import Container
from webplatform_digest.digest.machine import Progress
from webplatform_digest.errors import InputError
from webplatform_digest.llm.offline import OfflineBackend
from webplatform_digest.llm.port import Backend
from webplatform_digest.llm.selection import choose_backend
from webplatform_digest.models import parse_version
from webplatform_digest.runs.driver import first_leaf
from webplatform_digest.runs.registry import new_run_id
from webplatform_digest.runs.request import build_plan, parse_run_request
from webplatform_digest.runs.session import RunSummary
from webplatform_digest.services.digest import (
    check_resumable,
    request_options,
    resume_with_backend,
    run_plan,
)
from webplatform_digest.settings import Settings, load_settings
from webplatform_digest.storage.area_store import AreaStore, load_catalog
from webplatform_digest.storage.workspace import Workspace

log = logging.getLogger(__name__)


def run_digest_command(args: argparse.Namespace, settings: Settings) -> int:
    """Handle ``webplatform-digest run``; 0 when every requested digest exists.

    Raises:
        WebplatformError: bad arguments, release not processed, unwritable workspace
        (``cli.main`` prints the one-line message and exits non-zero).
    """
    settings = _with_flags(settings, args)
    if args.resume is not None:
        return _resume(settings, args)
    if args.version is None:
        raise InputError("run needs --version N (or --resume RUN_ID to finish an interrupted run)")
    workspace = Workspace.at(settings.workspace.root)
    catalog = load_catalog(workspace)
    request = parse_run_request(
        version=args.version,
        catalog=catalog,
        channel=args.channel,
        focus_areas=args.areas,
        language=args.language,
        use_cache=not args.no_cache,
    )
    backend_choice = resolve_backend_choice(settings)
    plan = build_plan(
        request,
        run_id=new_run_id(),
        store=AreaStore(workspace, cache_enabled=settings.workspace.area_cache_enabled),
        catalog=catalog,
        backend=backend_choice,
        options=request_options(settings),
    )

    async def run(container: Container) -> RunSummary:
        with _progress_bar() as on_progress:
            backend = _backend(container, backend_choice)
            return await run_plan(container, plan, request, backend, on_progress=on_progress)

    try:
        summary = with_container(settings, run)
    except ExceptionGroup as group:  # task groups wrap the one error that stopped the run
        raise first_leaf(group) from group
    return _report(summary, as_json=bool(args.json))


def _resume(settings: Settings, args: argparse.Namespace) -> int:
    """``run --resume RUN_ID``: finish an interrupted run with this shell's backend."""
    run_id: str = args.resume
    backend_choice = resolve_backend_choice(settings)

    async def resume(container: Container) -> RunSummary:
        check_resumable(container, run_id, parse_version(args.version) if args.version else None)
        with _progress_bar() as on_progress:
            backend = _backend(container, backend_choice)
            return await resume_with_backend(container, run_id, backend, on_progress=on_progress)

    try:
        summary = with_container(settings, resume)
    except ExceptionGroup as group:
        raise first_leaf(group) from group
    return _report(summary, as_json=bool(args.json))


def _backend(container: Container, choice: str) -> Backend:
    """The backend a shell run uses: the OpenAI-compatible endpoint or offline."""
    if choice == "openai":
        backend: Backend = container.openai_backend()
        return backend
    return OfflineBackend()


def _with_flags(settings: Settings, args: argparse.Namespace) -> Settings:
    """Settings with ``--llm``, ``--llm-base-url`` and ``--llm-model`` applied (validated)."""
    overrides: dict[str, Any] = {}
    if args.llm is not None:
        overrides["llm_backend"] = args.llm
    if args.llm_base_url is not None:
        overrides["llm_base_url"] = args.llm_base_url
    if args.llm_model is not None:
        overrides["llm_model"] = args.llm_model
    if not overrides:
        return settings
    return load_settings(**(settings.model_dump() | overrides))


def resolve_backend_choice(settings: Settings) -> str:
    """``openai`` or ``offline`` (``auto``: openai when a base URL is set, else offline).

    Raises:
        ConfigError: ``openai`` without a base URL.
    """
    # the shell has no MCP client to sample from: a configured ``sampling`` means ``auto`` here
    configured = "auto" if settings.llm.backend == "sampling" else settings.llm.backend
    choice = choose_backend(
        configured, client_can_sample=False, server_llm_configured=bool(settings.llm.base_url)
    )
    log.info("backend %s: %s", choice.kind, choice.reason)
    return choice.kind


@contextlib.contextmanager
def _progress_bar() -> Any:
    """A rich progress bar on a terminal's stderr; no output otherwise."""
    if not sys.stderr.isatty():

        async def quiet(progress: Progress) -> None:
            return None

        yield quiet
        return
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bar

    with Bar(
        TextColumn("digests"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
        transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("starting", total=None)

        async def update(progress: Progress) -> None:
            bar.update(task, completed=progress.completed, total=progress.total,
                       description=progress.message.split("; ", 1)[-1])  # fmt: skip

        yield update


def _report(summary: RunSummary, *, as_json: bool) -> int:
    """Print the summary; the exit code says whether every requested digest exists."""
    missing = [
        f"{area}/{lang}"
        for area, row in summary.areas.items()
        for lang, status in row.items()
        if status == "pending"
    ]
    if as_json:
        emit_json(summary.to_json())
    else:
        _print_table(summary)
    if summary.status != "completed" or missing:
        reason = summary.reason or f"no digest for {', '.join(missing[:5])}"
        sys.stderr.write(f"webplatform-digest: run {summary.status}: {reason}\n")
        return 1
    return 0


def _print_table(summary: RunSummary) -> None:
    write: Callable[[str], object] = sys.stdout.write
    write(f"Chrome {summary.version} ({summary.channel}) — run {summary.run_id}\n")
    for area, row in summary.areas.items():
        cells = "  ".join(f"{lang}: {status}" for lang, status in row.items())
        write(f"  {area:<22} {cells}\n")
    write(
        f"{len(summary.written)} files written, {len(summary.unchanged)} unchanged; "
        f"{summary.llm_calls} LLM calls, {summary.cache_hits} cache hits, "
        f"{summary.fallbacks} fallbacks; {summary.wall_seconds:.1f} s\n"
    )
