"""Telemetry summaries of a workspace: read the JSONL files, summarise, say what was read.

The one entry point for the CLI (``telemetry summary``), the MCP tool ``telemetry_summary`` and
the ``GET /metrics/summary`` route, so all three give the same document.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from webplatform_digest.clock import wall_time
from webplatform_digest.errors import InputError, NotFoundError
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.telemetry.jsonl import EventStream, telemetry_files, telemetry_path
from webplatform_digest.telemetry.summary import (
    combine,
    feed,
    iso_time,
    parse_since,
    run_summaries,
)

MAX_RUNS = 2

#: the run registry's view: run id → stored status (a killed run is ``interrupted`` there)
StatusLookup = Callable[[Iterable[str]], Mapping[str, str]]


def resolve_since(since: str | float | None, now: float) -> float | None:
    """``since`` as epoch seconds: a duration/ISO string, a number (epoch seconds) or None.

    Raises:
        InputError: an unreadable string, or a number that is not a finite epoch time.
    """
    if since is None or since == "":
        return None
    if isinstance(since, str):
        return parse_since(since, now)
    if not 0 <= since <= now + 86400:
        raise InputError(f"since {since!r} is not an epoch time in the past")
    return float(since)


def summarise_workspace(
    workspace: Workspace,
    since: str | float | None = None,
    runs: Sequence[str] = (),
    *,
    now: Callable[[], float] = wall_time,
    statuses: StatusLookup | None = None,
) -> dict[str, Any]:
    """Summary of the workspace's telemetry (optionally since a time, for one or two runs).

    The result is JSON-serialisable; ``source`` says which files were read and how many
    corrupt lines were skipped. With ``statuses``, each run's status is the registry's: the log
    has no ``RunFinished`` for a run whose process was killed, the registry knows it stopped.

    Raises:
        InputError: malformed ``since`` or run ids, or more than two runs.
        NotFoundError: a requested run has no events in the window.
    """
    if len(runs) > MAX_RUNS:
        raise InputError("give at most two run ids (before and after)")
    summaries = run_summaries(runs)
    start = resolve_since(since, now())
    files = telemetry_files(telemetry_path(workspace))
    stream = EventStream(files, since=start)
    for record in stream:
        feed(summaries, record)
    missing = [r for r, s in summaries.items() if r is not None and s.events == 0]
    if missing:
        raise NotFoundError(f"no telemetry for run {missing[0]!r} in the selected window")
    summary = combine(summaries)
    if statuses is not None:
        _agree_with_registry(summary, statuses)
    summary["source"] = {
        "files": [p.name for p in files],
        "corrupt_lines": stream.corrupt,
        "since": iso_time(start),
    }
    return summary


def _agree_with_registry(summary: dict[str, Any], statuses: StatusLookup) -> None:
    """Take each run's status from the registry where it knows the run."""
    parts = [summary[key] for key in ("before", "after") if key in summary] or [summary]
    runs: dict[str, dict[str, Any]] = {}
    for part in parts:
        runs.update(part["runs"])
    known = statuses(runs)
    for part in parts:
        for run_id, run in part["runs"].items():
            if run_id in known:
                run["status"] = known[run_id]
