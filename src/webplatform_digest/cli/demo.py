"""``webplatform-digest demo``: the main job end to end on the bundled sample release notes.

Copies the samples into the workspace, processes them, writes bilingual digests with the
offline backend (no network, no LLM) and generates the Jekyll site plus the HTML preview.
"""

import argparse
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from webplatform_digest.cli._common import emit_json, with_container
from webplatform_digest.container import Container
from webplatform_digest.services.digest import run_offline_digest
from webplatform_digest.services.pages import generate_pages
from webplatform_digest.services.process import process_all
from webplatform_digest.settings import Settings
from webplatform_digest.storage.commit import atomic_write
from webplatform_digest.storage.workspace import Workspace

SAMPLE_SUFFIX = ".sample.md"


def sample_notes() -> dict[str, bytes]:
    """The bundled sample release notes, by the file name they get in a workspace."""
    folder = resources.files("webplatform_digest") / "data" / "samples" / "release_notes"
    return {
        entry.name.removesuffix(SAMPLE_SUFFIX) + ".md": entry.read_bytes()
        for entry in folder.iterdir()
        if entry.name.endswith(SAMPLE_SUFFIX)
    }


def run_demo_command(args: argparse.Namespace, settings: Settings) -> int:
    """Seed, process, digest (offline) and publish; say where the results are."""
    report = with_container(settings, _demo)
    if args.json:
        emit_json(report)
    else:
        sys.stdout.write(_describe(report))
    return 0


async def _demo(container: Container) -> dict[str, Any]:
    workspace = container.workspace
    seeded = [
        name
        for name, data in sample_notes().items()
        if atomic_write(workspace.path(Workspace.RELEASE_NOTES / name), data)
    ]
    processed = await process_all(
        workspace,
        container.catalog,
        writer=container.write_queue,
        telemetry=container.telemetry,
    )
    runs = [
        (await run_offline_digest(container, s.version, s.channel)).to_json() for s in processed
    ]
    pages = await generate_pages(
        workspace,
        container.catalog,
        container.write_queue,
        html=True,
        telemetry=container.telemetry,
    )
    return {
        "root": str(workspace.root),
        "seeded": seeded,
        "processed": [s.to_json() for s in processed],
        "runs": runs,
        "pages": pages.to_json(),
    }


def _describe(report: dict[str, Any]) -> str:
    root = Path(report["root"])
    lines = [f"Demo workspace: {root}"]
    lines += [
        f"  processed Chrome {p['version']} ({p['channel']}): "
        f"{p['features_total']} features in {len(p['areas'])} areas"
        for p in report["processed"]
    ]
    lines += [
        f"  digests for Chrome {r['version']} ({r['channel']}): {len(r['areas'])} areas, "
        f"EN + ZH, offline backend, {r['wall_seconds']:.2f} s"
        for r in report["runs"]
    ]
    pages = report["pages"]
    lines += [
        f"  site: {pages['pages']} pages ({pages['written']} written, "
        f"{pages['unchanged']} unchanged)",
        "",
        "Results:",
        f"  per-area data   {root / 'processed' / 'areas'}",
        f"  digests         {root / Workspace.DIGESTS / 'areas'}",
        f"  Jekyll site     {root / Workspace.DIGESTS}",
        f"  HTML preview    {(root / Workspace.SITE / 'index.html').as_uri()}",
        f"  telemetry       {root / Workspace.MONITORING}",
        "",
        f"Build the site as GitHub Pages does: jekyll build --safe --source "
        f"{root / Workspace.DIGESTS} --destination {root / '_site'}",
    ]
    return "\n".join(lines) + "\n"
