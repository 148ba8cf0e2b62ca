"""``process --version N`` and ``pages`` on unchanged input, answered from their stamps.

The full paths write a stamp (``storage/stamps.py``) in the same batch as their output. Here a
re-run reads it with the light settings (``quick_settings.py``), recomputes every fingerprint
and hash it records, and only when all are equal prints the summary the full path would
print (built by the same ``services/summaries.py`` values and ``cli/reports.py`` functions) and
records the command in the event log. Nothing here imports pydantic, anyio, the parser, the
classifier, the renderers or the container. Each function returns None at the first doubt
(flags it does not handle, ``-v``, settings only ``Settings`` can judge, a missing, corrupt or
outdated stamp, any changed file); the caller then takes the full path, which also reports
every error.
"""

import argparse
import os
import re
import sys
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, cast

from webplatform_digest.cli._common import emit_json, quick_settings_for
from webplatform_digest.clock import monotonic
from webplatform_digest.errors import WebplatformError
from webplatform_digest.events import Event
from webplatform_digest.models import Channel, ReleaseKey
from webplatform_digest.quick_settings import QuickSettings
from webplatform_digest.services.summaries import (
    PagesSummary,
    ProcessSummary,
    pages_event,
    process_event,
)
from webplatform_digest.storage.stamps import (
    PAGES_STAMP,
    Stamp,
    digest_sources,
    files_match,
    fingerprints,
    process_stamp_rel,
    read_stamp,
)
from webplatform_digest.storage.workspace import Workspace

#: a milestone as the stamp names it; anything else (``0144``, `` 144``) goes the full way
_MILESTONE = re.compile(r"[1-9][0-9]{0,2}")


def fast_process(args: argparse.Namespace) -> int | None:
    """Exit code 0 after answering ``process --version N`` from its stamp, or None."""
    if args.version is None or args.version_range is not None or args.all:
        return None
    if not _MILESTONE.fullmatch(args.version):
        return None
    settings = quick_settings_for(args)
    if settings is None:
        return None
    workspace = Workspace.at(settings.root)
    key = ReleaseKey(int(args.version), Channel(args.channel))
    stamp = _stamp(workspace, process_stamp_rel(key), "process")
    if stamp is None:
        return None
    try:
        summary, names = _process_summary(stamp, key)
        inputs = cast("dict[str, str | None]", dict(stamp["inputs"]))
        outputs = _pairs(stamp["outputs"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (
        _inputs_match(workspace, inputs)
        and files_match(workspace, outputs)
        and not _other_area_files(workspace, key, outputs)
    ):
        return None
    _record(workspace, settings, process_event(summary))
    if args.json:
        emit_json(summary.to_json())
    else:
        from webplatform_digest.cli.reports import print_process_summaries

        print_process_summaries((summary,), names)
    return 0


def fast_pages(args: argparse.Namespace) -> int | None:
    """Exit code 0 after answering ``pages`` from the site's stamp, or None."""
    started = monotonic()
    if args.language is not None:
        return None
    if args.version is not None and not _MILESTONE.fullmatch(args.version):
        return None
    settings = quick_settings_for(args)
    if settings is None:
        return None
    workspace = Workspace.at(settings.root)
    stamp = _stamp(workspace, PAGES_STAMP, "pages")
    if stamp is None:
        return None
    request = {"version": None if args.version is None else int(args.version), "html": args.html}
    try:
        if stamp["request"] != request or digest_sources(workspace) != stamp["inputs"]:
            return None
        if not files_match(workspace, _pairs(stamp["outputs"])):
            return None
        done = stamp["summary"]
        summary = PagesSummary(
            pages=int(done["pages"]),
            written=0,
            unchanged=int(done["unchanged"]),
            removed=0,
            wall_seconds=monotonic() - started,
            preview=None if done["preview"] is None else str(done["preview"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    _record(workspace, settings, pages_event(summary))
    if args.json:
        emit_json(summary.to_json())
    else:
        from webplatform_digest.cli.reports import describe_pages

        sys.stdout.write(describe_pages(summary, workspace))
    return 0


def _stamp(workspace: Workspace, rel: PurePosixPath, command: str) -> Stamp | None:
    """The stamp if it is this command's and was written by this code on this catalogue."""
    stamp = read_stamp(workspace, rel)
    if stamp is None or stamp.get("command") != command:
        return None
    now = fingerprints(workspace)
    if now is None or any(stamp.get(name) != value for name, value in now.to_json().items()):
        return None
    return stamp


def _pairs(value: Any) -> dict[str, str]:
    """A stamp's ``[[path, hash], ...]`` as a mapping, in order.

    Raises:
        TypeError, ValueError: it is not such a list.
    """
    pairs = cast("list[list[str]]", value)
    return {str(path): str(digest) for path, digest in pairs}


def _process_summary(stamp: Stamp, key: ReleaseKey) -> tuple[ProcessSummary, dict[str, str]]:
    """The summary an unchanged full run reports (every file unchanged) and the area names.

    Raises:
        KeyError, TypeError, ValueError: the stamp lacks a field or has another shape.
    """
    done = stamp["summary"]
    names = {str(area): str(name) for area, name in dict(stamp["names"]).items()}
    areas = tuple((str(area), int(count)) for area, count in done["areas"])
    if any(area not in names for area, _ in areas):
        raise KeyError("an area without a name")
    summary = ProcessSummary(
        version=key.version,
        channel=key.channel,
        areas=areas,
        features_total=int(done["features_total"]),
        links_total=int(done["links_total"]),
        unclassified=tuple(str(section) for section in done["unclassified"]),
        written=(),
        unchanged=tuple(_pairs(stamp["outputs"])),
        webgpu_features=int(done["webgpu_features"]),
        source_hash=str(done["source_hash"]),
    )
    return summary, names


def _inputs_match(workspace: Workspace, inputs: Mapping[str, str | None]) -> bool:
    """Every note the stamp read holds the same bytes, and every one it found absent still is."""
    present = {rel: digest for rel, digest in inputs.items() if digest is not None}
    for rel in (rel for rel, digest in inputs.items() if digest is None):
        try:
            path = workspace.path(PurePosixPath(rel))
        except WebplatformError:
            return False
        if os.path.lexists(path):
            return False
    return bool(present) and files_match(workspace, present)


def _other_area_files(workspace: Workspace, key: ReleaseKey, outputs: Mapping[str, str]) -> bool:
    """Whether an area file of this release exists that the stamp does not list (the full path
    would remove it)."""
    base = workspace.root / Workspace.PROCESSED
    name = Workspace.area_data_name(key)
    try:
        folders = [entry.name for entry in os.scandir(base) if entry.is_dir()]
    except OSError:
        return True
    listed = {PurePosixPath(rel).parent.name for rel in outputs}
    return any(os.path.lexists(base / folder / name) for folder in folders if folder not in listed)


def _record(workspace: Workspace, settings: QuickSettings, event: Event) -> None:
    """Append the command's event to the JSONL log, as the container's telemetry would."""
    from webplatform_digest.telemetry.jsonl import JsonlHook, telemetry_path

    hook = JsonlHook(
        telemetry_path(workspace),
        max_bytes=settings.telemetry_max_bytes,
        backups=settings.telemetry_backups,
    )
    try:
        hook.handle(event)
    finally:
        hook.close()
