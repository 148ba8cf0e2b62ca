"""``webplatform-digest run``: write the per-area digests of one release from the shell.

The digest service (``services/digest.py``) validates, plans and runs, as it does for the MCP
tool; this module maps flags onto it and shows the outcome: progress on stderr (a rich bar on
a terminal, one line per finished digest otherwise; ``--progress``, ``--quiet``), a table or
(``--json``) the summary on stdout. ``--llm auto`` means the OpenAI-compatible backend when
a base URL is configured, else offline. This path never imports fastmcp (the CLI stays small:
see ``tests/cli/test_digest.py``).
"""

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

import anyio

from webplatform_digest.cli._common import emit_json, with_container
from webplatform_digest.container import Container
from webplatform_digest.digest.state import Progress, first_leaf
from webplatform_digest.errors import (
    InputError,
    LLMRequiredError,
    NotFoundError,
    RunInterruptedError,
)
from webplatform_digest.models import parse_channel
from webplatform_digest.releases.page import parse_version_range
from webplatform_digest.runs.session import ProgressSink
from webplatform_digest.runs.summary import RunSummary
from webplatform_digest.services.digest import (
    PlannedRun,
    plan_from_shell,
    resume_from_shell,
    run_planned,
    shell_backend_choice,
    shell_resume_settings,
)
from webplatform_digest.services.process import releases_in_range
from webplatform_digest.settings import Settings, load_settings
from webplatform_digest.storage.area_store import AreaStore
from webplatform_digest.storage.workspace import Workspace

_T = TypeVar("_T")
#: what a shell run does in the started container, reporting progress
ShellAction = Callable[[Container, ProgressSink], Awaitable[_T]]


def run_digest_command(args: argparse.Namespace, settings: Settings) -> int:
    """Handle ``webplatform-digest run``; 0 when every requested digest exists.

    Raises:
        WebplatformError: bad arguments, release not processed, unwritable workspace
        (``cli.main`` prints the one-line message and exits non-zero).
    """
    settings = _with_flags(settings, args)
    if args.resume is not None:
        return _resume(settings, args)
    if args.version_range is not None or args.all:
        return _run_many(settings, args)
    if args.version is None:
        raise InputError(
            "run needs --version N, --range A-B or --all "
            "(or --resume RUN_ID to finish an interrupted run)"
        )
    planned = _plan(settings, args, args.version, args.channel)
    require_llm = bool(args.require_llm)
    _announce(planned, settings, require_llm=require_llm)

    async def run(container: Container, on_progress: ProgressSink) -> RunSummary:
        return await run_planned(container, planned, on_progress=on_progress)

    current = [planned.plan.run_id]
    summary = _in_container(settings, run, _progress_mode(args), current)
    return _report(summary, as_json=bool(args.json), require_llm=require_llm)


def _plan(
    settings: Settings, args: argparse.Namespace, version: object, channel: str
) -> PlannedRun:
    return plan_from_shell(
        settings,
        version=version,
        channel=channel,
        focus_areas=args.areas,
        language=args.language or settings.runs.languages,
        use_cache=not args.no_cache,
        overwrite=bool(args.overwrite),
    )


def _run_many(settings: Settings, args: argparse.Namespace) -> int:
    """``run --range A-B`` / ``run --all``: one run per processed release, oldest first."""
    if args.version is not None or (args.version_range is not None and args.all):
        raise InputError("give one of --version, --range and --all")
    version_range = parse_version_range(args.version_range) if args.version_range else None
    workspace = Workspace.at(settings.workspace.root)
    store = AreaStore(workspace, cache_enabled=False)
    keys = releases_in_range(store.available_releases(), version_range, parse_channel(args.channel))
    if not keys:
        raise NotFoundError(
            f"no processed {args.channel} release to digest"
            f"{f' in {args.version_range}' if args.version_range else ''}; "
            "run webplatform-digest process first"
        )
    plans = [_plan(settings, args, key.version, key.channel.value) for key in keys]
    require_llm = bool(args.require_llm)
    current = [plans[0].plan.run_id]

    async def run(container: Container, on_progress: ProgressSink) -> tuple[RunSummary, ...]:
        summaries: list[RunSummary] = []
        for planned in plans:
            _announce(planned, settings, require_llm=require_llm)
            current[0] = planned.plan.run_id
            summaries.append(await run_planned(container, planned, on_progress=on_progress))
        return tuple(summaries)

    summaries = _in_container(settings, run, _progress_mode(args), current)
    return _report_many(summaries, as_json=bool(args.json), require_llm=require_llm)


def _announce(planned: PlannedRun, settings: Settings, *, require_llm: bool) -> None:
    """Before anything runs: refuse an offline run under ``--require-llm``, warn on a terminal
    that ``auto`` found no model, and name the run (its id is what ``--resume`` takes)."""
    plan = planned.plan
    if plan.backend == "offline" and require_llm:
        raise LLMRequiredError(
            f"--require-llm: the backend is offline ({planned.backend_reason}); "
            "set WEBPLATFORM_LLM_BASE_URL (and WEBPLATFORM_LLM_MODEL) or pass --llm-base-url"
        )
    warning = offline_warning(plan.backend, settings.llm.backend, interactive=sys.stderr.isatty())
    if warning:
        sys.stderr.write(warning + "\n")
    sys.stderr.write(
        f"webplatform-digest: run {plan.run_id} started (Chrome {plan.version} "
        f"{plan.channel.value}, backend {plan.backend})\n"
    )


def offline_warning(backend: str, configured: str, *, interactive: bool) -> str:
    """The one warning line when ``auto`` resolved to offline on a terminal ("" otherwise)."""
    if backend != "offline" or configured == "offline" or not interactive:
        return ""
    return (
        "webplatform-digest: warning: no LLM is configured, so digests are deterministic "
        "fallbacks; set WEBPLATFORM_LLM_BASE_URL and WEBPLATFORM_LLM_MODEL (or --llm-base-url "
        "and --llm-model) to have a model write them"
    )


def _resume(settings: Settings, args: argparse.Namespace) -> int:
    """``run --resume RUN_ID``: finish an interrupted run with the backend it started with
    (``--llm`` chooses another one explicitly)."""
    if args.llm is not None:
        choice = shell_backend_choice(settings)
    else:
        settings, choice = shell_resume_settings(
            settings,
            args.resume,
            url_given=args.llm_base_url is not None,
            model_given=args.llm_model is not None,
        )
    if choice.kind == "offline" and args.require_llm:
        raise LLMRequiredError(f"--require-llm: the backend is offline ({choice.reason})")
    sys.stderr.write(f"webplatform-digest: resuming run {args.resume} (backend {choice.kind})\n")

    async def resume(container: Container, on_progress: ProgressSink) -> RunSummary:
        summary = await resume_from_shell(
            container, args.resume, choice.kind, version=args.version, on_progress=on_progress
        )
        return replace(summary, backend_reason=choice.reason)

    summary = _in_container(settings, resume, _progress_mode(args), [args.resume])
    return _report(summary, as_json=bool(args.json), require_llm=bool(args.require_llm))


def _progress_mode(args: argparse.Namespace) -> str:
    """``--quiet`` wins; without ``--progress``: a bar on a terminal, plain lines otherwise."""
    if args.quiet:
        return "none"
    chosen: str | None = args.progress
    return chosen or ("bar" if sys.stderr.isatty() else "plain")


def _in_container(settings: Settings, action: ShellAction[_T], mode: str, current: list[str]) -> _T:
    """Run ``action`` in a started container, reporting progress in ``mode``. SIGINT and
    SIGTERM stop the run as a shutdown does: its state is kept and it is left ``interrupted``.

    Raises:
        RunInterruptedError: a signal stopped the run ``current[0]`` (the message says how to
        resume it).
    """
    caught: list[int] = []

    async def with_bar(container: Container) -> _T | None:
        with _progress_reporter(mode) as on_progress:
            async with anyio.create_task_group() as group:
                group.start_soon(_stop_on_signal, container, group.cancel_scope, caught)
                summary = await action(container, on_progress)
                group.cancel_scope.cancel()
                return summary
        return None

    try:
        summary = with_container(settings, with_bar)
    except ExceptionGroup as group:  # task groups wrap the one error that stopped the run
        raise first_leaf(group) from group
    if caught or summary is None:
        raise RunInterruptedError(current[0], caught[0] if caught else signal.SIGINT)
    return summary


async def _stop_on_signal(
    container: Container, scope: anyio.CancelScope, caught: list[int]
) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            caught.append(signum)
            container.begin_shutdown()  # runs cancelled now are left interrupted, resumable
            scope.cancel()
            return


def _with_flags(settings: Settings, args: argparse.Namespace) -> Settings:
    """Settings with ``--llm``, ``--llm-base-url``, ``--llm-model`` and
    ``--parallel-languages`` applied (validated)."""
    overrides: dict[str, Any] = {}
    if args.llm is not None:
        overrides["llm_backend"] = args.llm
    if args.llm_base_url is not None:
        overrides["llm_base_url"] = args.llm_base_url
    if args.llm_model is not None:
        overrides["llm_model"] = args.llm_model
    if getattr(args, "parallel_languages", False):
        overrides["parallel_languages"] = True
    if not overrides:
        return settings
    return load_settings(**(settings.model_dump() | overrides))


@contextlib.contextmanager
def _progress_reporter(mode: str) -> Any:
    """The progress sink of ``mode``: a rich bar, one stderr line per finished digest, or none."""
    if mode == "bar":
        with _progress_bar() as update:
            yield update
        return
    started = time.monotonic()
    done = 0

    async def plain(progress: Progress) -> None:
        nonlocal done
        if mode != "plain" or progress.completed <= done:
            return
        done = progress.completed
        latest = progress.message.split("; ", 1)[-1]  # "<area> <language>: <status>"
        elapsed = time.monotonic() - started
        sys.stderr.write(f"[{done}/{progress.total}] {latest} ({elapsed:.1f} s)\n")
        sys.stderr.flush()

    yield plain


@contextlib.contextmanager
def _progress_bar() -> Any:
    """A rich progress bar on stderr."""
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


def _report(summary: RunSummary, *, as_json: bool, require_llm: bool = False) -> int:
    """Print the summary; the exit code says whether every requested digest exists (1 if not)
    and, under ``--require-llm``, whether a model wrote each of them (3 if not)."""
    missing = _cells(summary, {"pending"})
    if as_json:
        emit_json(summary.to_json())
    else:
        _print_table(summary)
    if summary.status != "completed" or missing:
        reason = summary.reason or f"no digest for {', '.join(missing[:5])}"
        sys.stderr.write(f"webplatform-digest: run {summary.status}: {reason}\n")
        if summary.status == "interrupted":
            sys.stderr.write(f"resume with: webplatform-digest run --resume {summary.run_id}\n")
        return 1
    unwritten = _cells(summary, _NO_MODEL)
    if require_llm and unwritten:
        sys.stderr.write(
            f"webplatform-digest: --require-llm: no model digest for {', '.join(unwritten[:5])}"
            + (f" and {len(unwritten) - 5} more" if len(unwritten) > 5 else "")
            + "\n"
        )
        return LLMRequiredError.exit_code
    return 0


#: statuses of digests no model wrote (``kept`` keeps a model's; ``empty`` needs none)
_NO_MODEL = frozenset({"fallback", "error", "pending"})


def _cells(summary: RunSummary, statuses: set[str] | frozenset[str]) -> list[str]:
    return [
        f"{area}/{lang}"
        for area, row in summary.areas.items()
        for lang, status in row.items()
        if status in statuses
    ]


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
    if summary.backend:
        why = f" ({summary.backend_reason})" if summary.backend_reason else ""
        write(f"backend: {summary.backend}{why}\n")
    for area, row in summary.kept.items():
        for lang, reason in row.items():
            write(f"kept {area}/{lang}: {reason}\n")


def _report_many(
    summaries: Sequence[RunSummary], *, as_json: bool, require_llm: bool = False
) -> int:
    """Per-release rows and totals; exit 1 when any release lacks a requested digest and,
    under ``--require-llm``, 3 when a digest is not model-written."""
    totals = {
        "releases": len(summaries),
        "completed": sum(1 for s in summaries if s.status == "completed"),
        "written": sum(len(s.written) for s in summaries),
        "unchanged": sum(len(s.unchanged) for s in summaries),
        "llm_calls": sum(s.llm_calls for s in summaries),
        "cache_hits": sum(s.cache_hits for s in summaries),
        "fallbacks": sum(s.fallbacks for s in summaries),
        "wall_seconds": round(sum(s.wall_seconds for s in summaries), 3),
    }
    if as_json:
        emit_json({"releases": [s.to_json() for s in summaries], "totals": totals})
    else:
        for summary in summaries:
            _print_table(summary)
        sys.stdout.write(
            f"{totals['completed']} of {totals['releases']} releases completed; "
            f"{totals['written']} files written, {totals['unchanged']} unchanged; "
            f"{totals['llm_calls']} LLM calls, {totals['fallbacks']} fallbacks; "
            f"{totals['wall_seconds']:.1f} s\n"
        )
    failed = [s for s in summaries if not _complete(s)]
    for summary in failed:
        sys.stderr.write(
            f"webplatform-digest: run {summary.run_id} ({summary.version}) {summary.status}\n"
        )
    if failed:
        return 1
    unwritten = [f"{s.version}:{cell}" for s in summaries for cell in _cells(s, _NO_MODEL)]
    if require_llm and unwritten:
        more = f" and {len(unwritten) - 1} more" if len(unwritten) > 1 else ""
        sys.stderr.write(
            f"webplatform-digest: --require-llm: no model digest for {unwritten[0]}{more}\n"
        )
        return LLMRequiredError.exit_code
    return 0


def _complete(summary: RunSummary) -> bool:
    pending = any(status == "pending" for row in summary.areas.values() for status in row.values())
    return summary.status == "completed" and not pending
