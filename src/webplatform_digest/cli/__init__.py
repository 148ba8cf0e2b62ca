"""``webplatform-digest`` command line. Builds ``Settings`` once, dispatches to one handler.

This module must not import fastmcp at module level: the CLI's batch commands stay light; only
``serve`` imports the server.
"""

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webplatform_digest.cli._common import settings_for
from webplatform_digest.errors import WebplatformError

if TYPE_CHECKING:
    # pydantic is loaded when a command reads its settings, so ``--help`` never pays for it
    from webplatform_digest.settings import Settings

log = logging.getLogger("webplatform_digest")

Handler = Callable[[argparse.Namespace, "Settings"], int]


def _common(parser: argparse.ArgumentParser, *, json_flag: bool = True) -> None:
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="workspace root (default: $WEBPLATFORM_ROOT, else the current directory)",
    )
    if json_flag:
        parser.add_argument("--json", action="store_true", help="print a JSON summary")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="webplatform-digest",
        description="Chrome release notes → per-area digests (EN + ZH) → GitHub Pages site.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log INFO to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_pipeline_commands(sub)
    _add_monitor_commands(sub)
    _add_service_commands(sub)
    return parser


def _add_pipeline_commands(sub: Any) -> None:
    """Subcommands: process, run, pages."""
    p = sub.add_parser("process", help="parse release notes and write per-area YAML")
    _common(p)
    p.add_argument("--version", help="Chrome milestone, e.g. 144")
    p.add_argument("--channel", default="stable", choices=["stable", "beta"])
    p.add_argument("--all", action="store_true", help="process every release note present")
    p.set_defaults(handler=_cmd_process)

    p = sub.add_parser("run", help="write the per-area digests of one release")
    _common(p)
    p.add_argument("--version", default=None, help="Chrome milestone, e.g. 144")
    p.add_argument("--resume", default=None, metavar="RUN_ID", help="finish an interrupted run")
    p.add_argument("--channel", default="stable", choices=["stable", "beta"])
    p.add_argument("--areas", default=None, help="comma-separated area ids (default: all)")
    p.add_argument("--language", default="bilingual", choices=["en", "zh", "bilingual"])
    p.add_argument("--llm", default=None, choices=["auto", "openai", "offline"])
    p.add_argument("--llm-base-url", default=None)
    p.add_argument("--llm-model", default=None)
    p.add_argument("--no-cache", action="store_true", help="ignore the reply cache")
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser("pages", help="generate the GitHub Pages site from the digests")
    _common(p)
    p.add_argument("--version", default=None, help="only this milestone's pages")
    p.add_argument("--language", default="bilingual", choices=["en", "zh", "bilingual"])
    p.add_argument("--html", action="store_true", help="also render site/ as static HTML")
    p.set_defaults(handler=_cmd_pages)


def _add_monitor_commands(sub: Any) -> None:
    """Subcommands: check, fetch."""
    p = sub.add_parser("check", help="find the latest Chrome stable/beta and WebGPU releases")
    _common(p)
    p.add_argument("--channel", default="all", choices=["stable", "beta", "webgpu", "all"])
    p.add_argument("--base-url", default=None)
    p.set_defaults(handler=_cmd_check)

    p = sub.add_parser("fetch", help="download release notes into release_notes/")
    _common(p)
    p.add_argument("--version", default=None, help="milestone (default: latest)")
    p.add_argument("--range", dest="version_range", default=None, help="backfill, e.g. 130-144")
    p.add_argument("--channel", default="stable", choices=["stable", "beta", "webgpu"])
    p.add_argument("--force", action="store_true", help="re-download even if present")
    p.add_argument("--base-url", default=None)
    p.set_defaults(handler=_cmd_fetch)


def _add_service_commands(sub: Any) -> None:
    """Subcommands: telemetry, areas, serve, demo."""
    p = sub.add_parser("telemetry", help="summaries of recorded telemetry")
    tsub = p.add_subparsers(dest="telemetry_command", required=True, metavar="WHAT")
    ps = tsub.add_parser("summary", help="latency percentiles and rates per stage")
    _common(ps)
    ps.add_argument("--since", default=None, help="e.g. 1h, 30m, 2d or an ISO timestamp")
    ps.add_argument("--run", action="append", default=None, help="run id (twice: compare)")
    ps.set_defaults(handler=_cmd_telemetry_summary)

    p = sub.add_parser("runs", help="recent digest runs, newest first (with resume commands)")
    _common(p)
    p.add_argument("--limit", default="20", help="how many runs to list, 1-1000 (default: 20)")
    p.set_defaults(handler=_cmd_runs)

    p = sub.add_parser("areas", help="list the focus-area catalogue")
    _common(p)
    p.set_defaults(handler=_cmd_areas)

    p = sub.add_parser("serve", help="run the MCP server (stdio or streamable HTTP)")
    _common(p, json_flag=False)
    p.add_argument("--transport", default="stdio", choices=["stdio", "http"])
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(handler=_cmd_serve)

    p = sub.add_parser("demo", help="process → digests (offline) → site on bundled sample data")
    _common(p)
    p.set_defaults(handler=_cmd_demo)


def _cmd_process(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.process import run_process_command

    return run_process_command(args, settings)


def _cmd_run(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.digest import run_digest_command

    return run_digest_command(args, settings)


def _cmd_pages(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.pages import run_pages_command

    return run_pages_command(args, settings)


def _cmd_check(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.monitor import run_check_command

    return run_check_command(args, settings)


def _cmd_fetch(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.monitor import run_fetch_command

    return run_fetch_command(args, settings)


def _cmd_telemetry_summary(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.telemetry import run_summary_command

    return run_summary_command(args, settings)


def _cmd_runs(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.runs import run_runs_command

    return run_runs_command(args, settings)


def _cmd_areas(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.process import run_areas_command

    return run_areas_command(args, settings)


def _cmd_serve(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.startup import long_lived_startup

    with long_lived_startup():
        from webplatform_digest.server.app import serve

    return serve(settings, transport=args.transport, host=args.host, port=args.port)


def _cmd_demo(args: argparse.Namespace, settings: "Settings") -> int:
    from webplatform_digest.cli.demo import run_demo_command

    return run_demo_command(args, settings)


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
    try:
        settings = settings_for(args)
        return handler(args, settings)
    except WebplatformError as exc:
        sys.stderr.write(f"webplatform-digest: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("webplatform-digest: interrupted\n")
        return 130
