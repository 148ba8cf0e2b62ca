"""``webplatform-digest pages``: the GitHub Pages site (and HTML preview) from the digests.

Writes through a ``WriteQueue`` so a server running on the same workspace is respected (the
workspace lock). Never imports fastmcp.
"""

import argparse
import sys

import anyio

from webplatform_digest.area_store import load_catalog
from webplatform_digest.cli import emit_json
from webplatform_digest.focus_areas import FocusAreaManager
from webplatform_digest.pages import PagesSummary, generate_pages
from webplatform_digest.settings import Settings
from webplatform_digest.telemetry.events import Telemetry
from webplatform_digest.workspace import Workspace
from webplatform_digest.write_queue import WriteQueue, WriteQueueConfig


def run_pages_command(args: argparse.Namespace, settings: Settings) -> int:
    """Handle ``webplatform-digest pages``; 0 when the site was generated.

    Raises:
        WebplatformError: bad arguments, no digests, unwritable or busy workspace
        (``cli.main`` prints the one-line message and exits non-zero).
    """
    workspace = Workspace.at(settings.root)
    catalog = load_catalog(workspace)
    html = bool(args.html or settings.html_preview)
    summary = anyio.run(_generate, workspace, catalog, settings, args.version, args.language, html)
    for problem in summary.skipped:
        sys.stderr.write(f"webplatform-digest: skipped {problem}\n")
    if args.json:
        emit_json(summary.to_json())
    else:
        sys.stdout.write(describe(summary, workspace))
    return 0


async def _generate(
    workspace: Workspace,
    catalog: FocusAreaManager,
    settings: Settings,
    version: str | None,
    language: str,
    html: bool,
) -> PagesSummary:
    telemetry = Telemetry()
    config = WriteQueueConfig.from_settings(settings)
    async with WriteQueue.open(workspace, config, telemetry) as queue:
        return await generate_pages(
            workspace,
            catalog,
            queue,
            version=version,
            language=language,
            html=html,
            telemetry=telemetry,
        )


def describe(summary: PagesSummary, workspace: Workspace) -> str:
    """The human-readable report of a generation."""
    site = workspace.root / Workspace.DIGESTS
    lines = [
        f"Site: {site} ({summary.pages} page files; {summary.written} written, "
        f"{summary.unchanged} unchanged, {summary.removed} removed) in "
        f"{summary.wall_seconds:.2f} s"
    ]
    if summary.written == 0 and summary.removed == 0:
        lines.append("Nothing changed: no files were written.")
    if summary.preview:
        lines.append(f"HTML preview: {(workspace.root / summary.preview).as_uri()}")
    lines.append(f"Build it like GitHub Pages: jekyll build --safe --source {site}")
    return "\n".join(lines) + "\n"
