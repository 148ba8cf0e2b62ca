"""``webplatform-digest check`` and ``fetch``: the release monitor from a shell.

``check`` prints the newest stable, beta and WebGPU notes on the site (exit 1 when one cannot
be told). ``fetch`` downloads one note (``--version``, default: the newest), or every missing
note of a range (``--range 130-144``; exit 1 when any download failed, a page that does not
exist is only reported). Fetched notes are ready for ``webplatform-digest process``.
"""

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from webplatform_digest.cli._common import emit_json, with_container
from webplatform_digest.errors import InputError
from webplatform_digest.monitor.tracker import (
    BackfillResult,
    FetchResult,
    LatestReleases,
    ReleaseMonitor,
)
from webplatform_digest.releases.page import Track
from webplatform_digest.settings import Settings

_T = TypeVar("_T")


def run_check_command(args: argparse.Namespace, settings: Settings) -> int:
    """``check [--channel stable|beta|webgpu|all] [--base-url URL] [--json]``."""
    channel: str = args.channel
    latest = _run(args, settings, lambda monitor: monitor.check_latest(channel))
    if args.json:
        emit_json(latest.to_dict())
    else:
        _print_latest(latest, f" --base-url {args.base_url}" if args.base_url else "")
    return 1 if any(r.failed for r in latest.releases) else 0


def run_fetch_command(args: argparse.Namespace, settings: Settings) -> int:
    """``fetch [--version N | --range A-B] [--channel ...] [--force] [--base-url] [--json]``.

    Raises:
        InputError: both ``--version`` and ``--range`` given.
    """
    version: str | None = args.version
    version_range: str | None = args.version_range
    channel: str = args.channel
    force: bool = args.force
    if version and version_range:
        raise InputError("give either --version or --range, not both")
    if version_range:
        backfill = _run(args, settings, lambda m: m.backfill(version_range, channel, force=force))
        return _report_backfill(backfill, as_json=args.json)
    if version:
        result = _run(
            args, settings, lambda m: m.fetch_release_notes(version, channel, force=force)
        )
    else:
        result = _run(args, settings, lambda m: m.fetch_latest(channel, force=force))
    if args.json:
        emit_json(result.to_dict())
    else:
        _say(_describe(result))
        _say(f"next: webplatform-digest process {_process_args(result)}")
    return 0


def _run(
    args: argparse.Namespace,
    settings: Settings,
    action: Callable[[ReleaseMonitor], Awaitable[_T]],
) -> _T:
    """Run ``action`` with a monitor on the container's HTTP client and write queue."""
    base_url: str | None = args.base_url
    return with_container(settings, lambda c: action(c.monitor(base_url=base_url)))


def _say(text: str) -> None:
    """One line of the human-readable report on stdout."""
    sys.stdout.write(text + "\n")


def _print_latest(latest: LatestReleases, extra: str) -> None:
    for release in latest.releases:
        name = release.track.value
        if release.version is None:
            _say(f"{name:<7} unknown   {release.error}")
            continue
        state = "present" if release.present else "new"
        _say(f"{name:<7} {release.version:<9} {state:<8} {release.url}")
        if release.failed:
            _say(f"        not confirmed by the site (newest in the workspace): {release.error}")
        if not release.present:
            flag = "" if release.track is Track.STABLE else f" --channel {name}"
            command = f"webplatform-digest fetch --version {release.version}{flag}{extra}"
            _say(f"        fetch it: {command}")


def _describe(result: FetchResult) -> str:
    if result.outcome == "present":
        return f"present {result.path} (already in the workspace; --force downloads it again)"
    if result.outcome in ("fetched", "unchanged"):
        size = f"{result.bytes / 1024:.1f} KiB"
        return (
            f"{result.outcome} {result.path} ({result.features} features, {size}) from {result.url}"
        )
    return f"{result.outcome} {result.path}: {result.error}"


def _process_args(result: FetchResult) -> str:
    flag = " --channel beta" if result.track is Track.BETA else ""
    return f"--version {result.version}{flag}"


def _report_backfill(backfill: BackfillResult, *, as_json: bool) -> int:
    if as_json:
        emit_json(backfill.to_dict())
    else:
        for result in backfill.results:
            _say(f"{result.version:<4} {_describe(result)}")
        counts = backfill.to_dict()["counts"]
        _say(", ".join(f"{name.replace('_', ' ')} {count}" for name, count in counts.items()))
    return 1 if backfill.failed else 0
