"""``webplatform-digest`` command line. Builds ``Settings`` once, dispatches to one handler.

A command may also have a fast handler, tried first: it answers without ``Settings`` (on the
light settings, from a stamp) or returns None, and the command then runs as usual.

This module must not import fastmcp at module level: the CLI's batch commands stay light; only
``serve`` imports the server.
"""

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webplatform_digest import __version__
from webplatform_digest.cli._common import quick_settings_for, settings_for
from webplatform_digest.errors import WebplatformError

if TYPE_CHECKING:
    # pydantic is loaded when a command reads its settings, so ``--help`` never pays for it
    from webplatform_digest.settings import Settings

log = logging.getLogger("webplatform_digest")

Handler = Callable[[argparse.Namespace, "Settings"], int]
#: answers a command without ``Settings`` when it safely can (exit code), else None
FastHandler = Callable[[argparse.Namespace], int | None]


#: the --language help (codes come from data files; listing them here would load them)
_LANGUAGE_HELP = (
    "comma-separated language codes, e.g. en,zh,ja (es, ko, pt-BR, zh-TW, …) or bilingual "
    "(= en,zh); default: WEBPLATFORM_LANGUAGES or bilingual"
)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that shows each option's default and keeps the examples' line breaks.

    A default of None or False is left unsaid (the help text says what "not given" means).
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        if action.option_strings:
            return f"{text} (default: %(default)s)"
        return text


def _command(sub: Any, name: str, summary: str, example: str) -> argparse.ArgumentParser:
    """A subcommand with a one-line description and an example in its help."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=summary,
        description=summary,
        epilog=f"example:\n  {example}",
        formatter_class=_HelpFormatter,
    )
    return parser


def _common(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="workspace root (default: $WEBPLATFORM_ROOT, else the current directory)",
    )
    # SUPPRESS keeps a -v given before the subcommand from being reset here
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log INFO to stderr"
    )
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print a JSON summary")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="webplatform-digest",
        description="Chrome release notes → per-area digests (EN + ZH) → GitHub Pages site.",
        epilog="example:\n  webplatform-digest demo --root /tmp/try-it",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log INFO to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_pipeline_commands(sub)
    _add_monitor_commands(sub)
    _add_service_commands(sub)
    _add_search_command(sub)
    _add_site_commands(sub)
    return parser


_CHANNEL_HELP = "release channel"


def _add_pipeline_commands(sub: Any) -> None:
    """Subcommands: process, run, pages."""
    p = _command(
        sub,
        "process",
        "parse release notes and write per-area YAML",
        "webplatform-digest process --version 144",
    )
    _common(p)
    p.add_argument("--version", help="Chrome milestone, e.g. 144")
    p.add_argument("--channel", default="stable", choices=["stable", "beta"], help=_CHANNEL_HELP)
    p.add_argument(
        "--range", dest="version_range", default=None, help="every note of a range, e.g. 140-144"
    )
    p.add_argument("--all", action="store_true", help="process every release note present")
    p.set_defaults(handler=_cmd_process, fast=_fast_process)

    p = _command(
        sub,
        "run",
        "write the per-area digests of one release",
        "webplatform-digest run --version 144 --areas css,webgpu --llm offline",
    )
    _common(p)
    p.add_argument("--version", default=None, help="Chrome milestone, e.g. 144")
    p.add_argument(
        "--range", dest="version_range", default=None, help="every processed release of a range"
    )
    p.add_argument("--all", action="store_true", help="every processed release")
    p.add_argument("--resume", default=None, metavar="RUN_ID", help="finish an interrupted run")
    p.add_argument("--channel", default="stable", choices=["stable", "beta"], help=_CHANNEL_HELP)
    p.add_argument("--areas", default=None, help="comma-separated area ids (default: all)")
    p.add_argument("--language", default=None, help=_LANGUAGE_HELP)
    p.add_argument(
        "--parallel-languages",
        action="store_true",
        help="write each language from the area data beside English (then cross-check)",
    )
    p.add_argument(
        "--llm",
        default=None,
        choices=["auto", "openai", "offline"],
        help="backend (default: $WEBPLATFORM_LLM; auto: openai when a base URL is set)",
    )
    p.add_argument(
        "--llm-base-url", default=None, help="OpenAI-compatible endpoint (default: settings)"
    )
    p.add_argument("--llm-model", default=None, help="model name (default: settings)")
    p.add_argument("--no-cache", action="store_true", help="ignore the reply cache")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace model-written digests even with fallbacks (default: keep them)",
    )
    p.add_argument(
        "--require-llm",
        action="store_true",
        help="exit 3 if the backend is offline or any digest is not model-written",
    )
    _progress_options(p)
    p.set_defaults(handler=_cmd_run)

    p = _command(
        sub,
        "pages",
        "generate the GitHub Pages site from the digests",
        "webplatform-digest pages --html",
    )
    _common(p)
    p.add_argument("--version", default=None, help="only this milestone's pages (default: all)")
    p.add_argument(
        "--language",
        default=None,
        help="only the digest pages in these languages (e.g. zh or en,ja; default: every "
        "language on disk); navigation is always rendered",
    )
    p.add_argument("--html", action="store_true", help="also render site/ as static HTML")
    p.set_defaults(handler=_cmd_pages, fast=_fast_pages)


def _progress_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        default=None,
        choices=["bar", "plain", "none"],
        help="bar, one stderr line per finished digest, or nothing (default: bar on a terminal, "
        "else plain)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress output (same as --progress none)"
    )


def _add_monitor_commands(sub: Any) -> None:
    """Subcommands: check, fetch."""
    p = _command(
        sub,
        "check",
        "find the latest Chrome stable/beta and WebGPU releases",
        "webplatform-digest check --json",
    )
    _common(p)
    p.add_argument(
        "--channel", default="all", choices=["stable", "beta", "webgpu", "all"], help="which track"
    )
    p.add_argument(
        "--base-url", default=None, help="release site (default: $WEBPLATFORM_MONITOR_BASE_URL)"
    )
    p.set_defaults(handler=_cmd_check)

    p = _command(
        sub,
        "fetch",
        "download release notes into release_notes/",
        "webplatform-digest fetch --range 140-144",
    )
    _common(p)
    p.add_argument("--version", default=None, help="milestone (default: the latest)")
    p.add_argument("--range", dest="version_range", default=None, help="backfill, e.g. 130-144")
    p.add_argument(
        "--channel", default="stable", choices=["stable", "beta", "webgpu"], help="which track"
    )
    p.add_argument("--force", action="store_true", help="re-download even if present")
    p.add_argument(
        "--base-url", default=None, help="release site (default: $WEBPLATFORM_MONITOR_BASE_URL)"
    )
    p.set_defaults(handler=_cmd_fetch)


def _add_service_commands(sub: Any) -> None:
    """Subcommands: telemetry, areas, serve, demo."""
    p = _command(
        sub,
        "telemetry",
        "summaries of recorded telemetry",
        "webplatform-digest telemetry summary --since 1h",
    )
    tsub = p.add_subparsers(dest="telemetry_command", required=True, metavar="WHAT")
    ps = _command(
        tsub,
        "summary",
        "latency percentiles and rates per stage",
        "webplatform-digest telemetry summary --since 2026-12-01T09:00",
    )
    _common(ps)
    ps.add_argument(
        "--since",
        default=None,
        help="e.g. 1h, 30m, 2d or an ISO timestamp (one without a zone is read as UTC)",
    )
    ps.add_argument("--run", action="append", default=None, help="run id (twice: compare)")
    ps.set_defaults(handler=_cmd_telemetry_summary, fast=_fast_telemetry_summary)

    p = _command(
        sub,
        "runs",
        "recent digest runs, newest first (with resume commands)",
        "webplatform-digest runs --limit 5",
    )
    _common(p)
    p.add_argument("--limit", default="20", help="how many runs to list, 1-1000")
    p.set_defaults(handler=_cmd_runs, fast=_fast_runs)

    p = _command(sub, "areas", "list the focus-area catalogue", "webplatform-digest areas --json")
    _common(p)
    p.set_defaults(handler=_cmd_areas, fast=_fast_areas)

    p = _command(
        sub,
        "serve",
        "run the MCP server (stdio or streamable HTTP)",
        "WEBPLATFORM_HTTP_TOKEN=secret webplatform-digest serve --transport http --port 8000",
    )
    _common(p, json_flag=False)
    p.add_argument("--transport", default="stdio", choices=["stdio", "http"], help="transport")
    p.add_argument("--host", default=None, help="HTTP address (default: $WEBPLATFORM_HTTP_HOST)")
    p.add_argument(
        "--port", type=int, default=None, help="HTTP port (default: $WEBPLATFORM_HTTP_PORT)"
    )
    p.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve a non-loopback address without WEBPLATFORM_HTTP_TOKEN",
    )
    p.set_defaults(handler=_cmd_serve)

    p = _command(
        sub,
        "demo",
        "process → digests (offline) → site on bundled sample data",
        "webplatform-digest demo --root /tmp/try-it",
    )
    _common(p)
    p.set_defaults(handler=_cmd_demo)


def _add_search_command(sub: Any) -> None:
    """Subcommand: search."""
    p = _command(
        sub,
        "search",
        "search the features of the processed releases",
        "webplatform-digest search --area css --since 140",
    )
    _common(p)
    p.add_argument("query", nargs="*", help="words that must all appear (any case)")
    p.add_argument("--area", default=None, help="focus-area id, e.g. css")
    p.add_argument("--since", default=None, help="from this Chrome milestone, e.g. 140")
    p.add_argument("--until", default=None, help="up to this Chrome milestone, e.g. 144")
    p.add_argument("--limit", default="50", help="at most this many features, 1-500")
    p.set_defaults(handler=_cmd_search)


def _cmd_search(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.search import run_search_command

    return run_search_command(args, settings)


def _add_site_commands(sub: Any) -> None:
    """Subcommands: update, init-site (their parsers live beside their handlers)."""
    from webplatform_digest.cli import site_init, update

    update.add_parser(sub, _command, _common)
    sub.choices["update"].set_defaults(handler=_cmd_update)
    site_init.add_parser(sub, _command, _common)
    sub.choices["init-site"].set_defaults(handler=_cmd_init_site)


def _cmd_process(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.process import run_process_command

    return run_process_command(args, settings)


def _fast_process(args: argparse.Namespace) -> int | None:
    from webplatform_digest.cli.fast import fast_process

    return fast_process(args)


def _cmd_run(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.digest import run_digest_command

    return run_digest_command(args, settings)


def _cmd_pages(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.pages import run_pages_command

    return run_pages_command(args, settings)


def _fast_pages(args: argparse.Namespace) -> int | None:
    from webplatform_digest.cli.fast import fast_pages

    return fast_pages(args)


def _cmd_check(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.monitor import run_check_command

    return run_check_command(args, settings)


def _cmd_fetch(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.monitor import run_fetch_command

    return run_fetch_command(args, settings)


def _cmd_telemetry_summary(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.telemetry import run_summary_command
    from webplatform_digest.configs import quick_settings_of

    return run_summary_command(args, quick_settings_of(settings))


def _fast_telemetry_summary(args: argparse.Namespace) -> int | None:
    """The summary reads the root and the registry's limits: on the light settings if they
    suffice."""
    light = quick_settings_for(args)
    if light is None:
        return None
    from webplatform_digest.cli.telemetry import run_summary_command

    return run_summary_command(args, light)


def _cmd_runs(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.runs import run_runs_command
    from webplatform_digest.configs import quick_settings_of

    return run_runs_command(args, quick_settings_of(settings))


def _fast_runs(args: argparse.Namespace) -> int | None:
    """``runs`` reads the root and the registry's limits: on the light settings if they
    suffice."""
    light = quick_settings_for(args)
    if light is None:
        return None
    from webplatform_digest.cli.runs import run_runs_command

    return run_runs_command(args, light)


def _cmd_areas(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.areas import run_areas_command

    return run_areas_command(args, settings.workspace.root)


def _fast_areas(args: argparse.Namespace) -> int | None:
    """``areas`` reads the root only: on the light settings when they suffice."""
    light = quick_settings_for(args)
    if light is None:
        return None
    from webplatform_digest.cli.areas import run_areas_command

    return run_areas_command(args, light.root)


def _cmd_serve(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.startup import long_lived_startup

    with long_lived_startup():
        from webplatform_digest.server.app import serve

    return serve(
        settings,
        transport=args.transport,
        host=args.host,
        port=args.port,
        allow_unauthenticated=args.allow_unauthenticated,
    )


def _cmd_demo(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.demo import run_demo_command

    return run_demo_command(args, settings)


def _cmd_update(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.update import run_update_command

    return run_update_command(args, settings)


def _cmd_init_site(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.site_init import run_init_site_command

    return run_init_site_command(args, settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script. Returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    handler: Handler = args.handler
    fast: FastHandler | None = getattr(args, "fast", None)
    try:
        # unchanged input is answered from a stamp, before Settings (pydantic) is imported
        if fast is not None and (code := fast(args)) is not None:
            return code
        settings = settings_for(args)
        return handler(args, settings)
    except WebplatformError as exc:
        sys.stderr.write(f"webplatform-digest: {exc}\n")
        return exc.exit_code
    except OSError as exc:
        # the edges wrap what they expect; an OS error that slips past is still one line
        where = f"{exc.filename}: " if exc.filename else ""
        sys.stderr.write(f"webplatform-digest: {where}{exc.strerror or exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("webplatform-digest: interrupted\n")
        return 130
