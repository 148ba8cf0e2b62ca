"""``webplatform-digest process``."""

import argparse

from webplatform_digest.cli._common import emit_json, with_container
from webplatform_digest.cli.reports import print_process_summaries
from webplatform_digest.container import Container
from webplatform_digest.errors import InputError
from webplatform_digest.models import parse_channel, parse_version
from webplatform_digest.releases.page import parse_version_range
from webplatform_digest.services.process import process_all, process_release
from webplatform_digest.services.summaries import ProcessSummary
from webplatform_digest.settings import Settings
from webplatform_digest.storage.area_store import load_catalog
from webplatform_digest.storage.stamps import fingerprints
from webplatform_digest.storage.workspace import Workspace


def run_process_command(args: argparse.Namespace, settings: Settings) -> int:
    """Process one release (``--version``), a range (``--range 140-144``) or every release
    note present (``--all``).

    Raises:
        InputError: not exactly one of ``--version``, ``--range`` and ``--all`` was given.
        NotFoundError: the release note is missing or unreadable.
    """
    chosen = [args.version is not None, args.version_range is not None, args.all]
    if sum(chosen) != 1:
        raise InputError("process needs exactly one of --version N, --range A-B or --all")
    channel = parse_channel(args.channel)
    # taken before the container loads the catalogue: see storage/stamps.py
    stamp = fingerprints(Workspace.at(settings.workspace.root))
    if args.version is None:
        version_range = parse_version_range(args.version_range) if args.version_range else None

        async def many(container: Container) -> tuple[ProcessSummary, ...]:
            return await process_all(
                container.workspace,
                container.catalog,
                writer=container.write_queue,
                telemetry=container.telemetry,
                version_range=version_range,
                # --all keeps its old meaning: every note, both channels
                channel=channel if version_range else None,
                stamp=stamp,
            )

        summaries = with_container(settings, many)
    else:
        version = parse_version(args.version)

        async def one(container: Container) -> tuple[ProcessSummary, ...]:
            summary = await process_release(
                container.workspace,
                container.catalog,
                version,
                channel,
                writer=container.write_queue,
                telemetry=container.telemetry,
                stamp=stamp,
            )
            return (summary,)

        summaries = with_container(settings, one)
    if args.json:
        payloads = [summary.to_json() for summary in summaries]
        emit_json(payloads if args.version is None else payloads[0])
    else:
        catalog = load_catalog(Workspace.at(settings.workspace.root))
        names = {area: catalog.get(area).name for s in summaries for area, _ in s.areas}
        print_process_summaries(summaries, names)
    return 0
