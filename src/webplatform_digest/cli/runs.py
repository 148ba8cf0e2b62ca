"""``webplatform-digest runs [--limit N] [--json]``: recent digest runs, newest first.

Opening the registry marks runs whose process died as ``interrupted`` first, so a run killed
with SIGKILL is listed as what it is, with the command that finishes it. It runs on the light
settings when they suffice (``quick_settings.py``) and never builds the container.
"""

import argparse
import sys
from collections import Counter
from typing import Any, cast

from webplatform_digest.cli._common import emit_json
from webplatform_digest.errors import InputError
from webplatform_digest.quick_settings import QuickSettings
from webplatform_digest.runs.registry import RunRecord, RunStatus
from webplatform_digest.runs.registry_file import open_run_registry
from webplatform_digest.storage.workspace import Workspace

MAX_LIMIT = 1000
RESUMABLE = frozenset({RunStatus.INTERRUPTED})


def limit_arg(text: str) -> int:
    """``--limit``: a whole number of runs between 1 and 1000.

    Raises:
        InputError: anything else.
    """
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise InputError(f"--limit {text[:20]!r}: give a whole number from 1 to {MAX_LIMIT}")
    return int(text)


def run_row(record: RunRecord) -> dict[str, Any]:
    """One run as the command shows it: identity, status, backend, times and digest counts."""
    counts = Counter(
        str(cast("dict[str, Any]", cell).get("status", "pending"))
        for row in record.results.values()
        if isinstance(row, dict)
        for cell in cast("dict[str, Any]", row).values()
        if isinstance(cell, dict)
    )
    return {
        "run_id": record.run_id,
        "status": record.status.value,
        "version": record.version,
        "channel": record.channel,
        "backend": record.params.get("backend"),
        "started": record.started_at,
        "finished": record.finished_at,
        "counts": dict(sorted(counts.items())),
        "reason": record.reason,
    }


def run_runs_command(args: argparse.Namespace, settings: QuickSettings) -> int:
    """List the most recent runs (text table, or ``--json``)."""
    limit = limit_arg(str(args.limit))
    registry = open_run_registry(
        Workspace.at(settings.root),
        retention=settings.runs_retention,
        token_ttl=settings.run_token_ttl,
    )
    try:
        records = registry.list_runs(limit=limit)
    finally:
        registry.close()
    rows = [run_row(record) for record in records]
    if args.json:
        emit_json({"runs": rows})
    else:
        sys.stdout.write(format_runs(records, rows))
    return 0


def format_runs(records: list[RunRecord], rows: list[dict[str, Any]]) -> str:
    """The runs as aligned text, with the resume command under each resumable run."""
    if not rows:
        return "no digest runs in this workspace yet\n"
    lines = [f"{'run id':<24}{'status':<16}{'release':<15}{'backend':<10}{'started':<22}digests"]
    for record, row in zip(records, rows, strict=True):
        counts = ", ".join(f"{n} {status}" for status, n in row["counts"].items()) or "-"
        release = f"{row['version']} {row['channel']}"
        lines.append(
            f"{row['run_id']:<24}{row['status']:<16}{release:<15}"
            f"{row['backend'] or '-':<10}{row['started'] or '-':<22}{counts}"
        )
        if record.status in RESUMABLE:
            lines.append(f"  resume: webplatform-digest run --resume {record.run_id}")
    return "\n".join(lines) + "\n"
