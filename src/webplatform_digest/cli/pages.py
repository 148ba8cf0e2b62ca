"""``webplatform-digest pages``: the GitHub Pages site (and HTML preview) from the digests.

Runs on the container's shared services (one write queue and workspace lock, telemetry), so a
server on the same workspace is respected. Never imports fastmcp.
"""

import argparse
import functools
import sys

from webplatform_digest.cli._common import emit_json, with_container
from webplatform_digest.container import Container
from webplatform_digest.services.pages import PagesSummary, generate_pages
from webplatform_digest.settings import Settings
from webplatform_digest.storage.workspace import Workspace


def run_pages_command(args: argparse.Namespace, settings: Settings) -> int:
    """Handle ``webplatform-digest pages``; 0 when the site was generated.

    Raises:
        WebplatformError: bad arguments, no digests, unwritable or busy workspace
        (``cli.main`` prints the one-line message and exits non-zero).
    """
    html = bool(args.html or settings.pages.html_preview)
    action = functools.partial(_generate, version=args.version, language=args.language, html=html)
    summary = with_container(settings, action)
    for problem in summary.skipped:
        sys.stderr.write(f"webplatform-digest: skipped {problem}\n")
    if args.json:
        emit_json(summary.to_json())
    else:
        sys.stdout.write(describe(summary, Workspace.at(settings.workspace.root)))
    return 0


async def _generate(
    container: Container, *, version: str | None, language: str | None, html: bool
) -> PagesSummary:
    return await generate_pages(
        container.workspace,
        container.catalog,
        container.write_queue,
        version=version,
        language=language,
        html=html,
        telemetry=container.telemetry,
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
