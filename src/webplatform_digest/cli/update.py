"""``webplatform-digest update``: check → fetch what is new → process → run → pages.

Exit codes tell a scheduler what happened: 0 nothing new, 10 the site was updated, 1 a step
failed (2 for bad arguments or settings, as everywhere). ``--json`` prints the whole summary.
"""

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # the parser is built for --help too: pydantic loads only when a command runs
    from webplatform_digest.services.update import UpdateSummary
    from webplatform_digest.settings import Settings

#: exit code per update status (nothing_new, updated, failed); the parser is built at every
#: CLI start, so this module imports the services only when ``update`` runs
EXIT_CODES = {"nothing_new": 0, "updated": 10, "failed": 1}


def add_parser(sub: Any, command: Any, common: Any) -> None:
    """Add ``update`` to the subcommands (``command`` and ``common`` are the CLI's helpers)."""
    p = command(
        sub,
        "update",
        "check, fetch what is new, process, digest and rebuild the site "
        "(exit 0: nothing new, 10: updated, 1: failed)",
        "webplatform-digest update --base-url https://developer.chrome.com --json",
    )
    common(p)
    p.add_argument("--base-url", default=None, help="release site (default: settings)")
    p.add_argument(
        "--language", default="bilingual", choices=["en", "zh", "bilingual"], help="digests"
    )


def run_update_command(args: argparse.Namespace, settings: "Settings") -> int:
    """Handle ``webplatform-digest update``; the exit code is the update's status."""
    from webplatform_digest.cli._common import emit_json, with_container
    from webplatform_digest.container import Container
    from webplatform_digest.models import ReleaseKey
    from webplatform_digest.services.digest import PlannedRun, plan_from_shell
    from webplatform_digest.services.update import UpdateSummary, update_site

    language: str = args.language

    def plan(key: ReleaseKey) -> PlannedRun:
        return plan_from_shell(
            settings, version=key.version, channel=key.channel.value, language=language
        )

    async def update(container: Container) -> UpdateSummary:
        return await update_site(container, plan, base_url=args.base_url)

    summary = with_container(settings, update)
    if args.json:
        emit_json(summary.to_json())
    else:
        _print(summary)
    for error in summary.errors:
        sys.stderr.write(f"webplatform-digest: {error}\n")
    return EXIT_CODES[summary.status]


def _print(summary: "UpdateSummary") -> None:
    write = sys.stdout.write
    for result in summary.fetched:
        write(f"fetched {result.track.value} {result.version}: {result.outcome}\n")
    for run in summary.runs:
        write(f"digests chrome {run.version} ({run.channel}): {run.status}, "
              f"{len(run.written)} written, {run.fallbacks} fallbacks\n")  # fmt: skip
    if summary.pages is not None:
        write(f"site: {summary.pages.get('pages', 0)} pages\n")
    write(f"{summary.status.replace('_', ' ')}\n")
