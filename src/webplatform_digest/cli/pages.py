"""``webplatform-digest pages``: the GitHub Pages site (and HTML preview) from the digests.

Runs on the container's shared services (one write queue and workspace lock, telemetry), so a
server on the same workspace is respected. Never imports fastmcp.
"""

import argparse
import functools
import sys

from webplatform_digest.cli._common import emit_json, with_container
from webplatform_digest.cli.reports import describe_pages
from webplatform_digest.container import Container
from webplatform_digest.services.pages import generate_pages
from webplatform_digest.services.summaries import PagesSummary
from webplatform_digest.settings import Settings
from webplatform_digest.storage.stamps import Fingerprints, fingerprints
from webplatform_digest.storage.workspace import Workspace


def run_pages_command(args: argparse.Namespace, settings: Settings) -> int:
    """Handle ``webplatform-digest pages``; 0 when the site was generated.

    Raises:
        WebplatformError: bad arguments, no digests, unwritable or busy workspace
        (``cli.main`` prints the one-line message and exits non-zero).
    """
    html = bool(args.html or settings.pages.html_preview)
    # taken before the container loads the catalogue: see storage/stamps.py
    stamp = fingerprints(Workspace.at(settings.workspace.root))
    action = functools.partial(
        _generate, version=args.version, language=args.language, html=html, stamp=stamp
    )
    summary = with_container(settings, action)
    for problem in summary.skipped:
        sys.stderr.write(f"webplatform-digest: skipped {problem}\n")
    if args.json:
        emit_json(summary.to_json())
    else:
        sys.stdout.write(describe_pages(summary, Workspace.at(settings.workspace.root)))
    return 0


async def _generate(
    container: Container,
    *,
    version: str | None,
    language: str | None,
    html: bool,
    stamp: Fingerprints | None,
) -> PagesSummary:
    return await generate_pages(
        container.workspace,
        container.catalog,
        container.write_queue,
        version=version,
        language=language,
        html=html,
        telemetry=container.telemetry,
        stamp=stamp,
    )
