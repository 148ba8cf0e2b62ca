"""``webplatform-digest telemetry summary [--since 1h|ISO] [--run ID [--run ID2]] [--json]``.

It runs on the light settings when they suffice (``quick_settings.py``) and never builds the
container.
"""

import argparse
import contextlib
import sys
from collections.abc import Generator
from typing import Any

from webplatform_digest.cli._common import emit_json
from webplatform_digest.quick_settings import QuickSettings
from webplatform_digest.runs.registry_file import open_run_registry, registry_exists
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.telemetry.report import StatusLookup, summarise_workspace

_RATES = ("failure_rate", "timeout_rate", "retry_rate", "fallback_rate", "area_error_rate")


def run_summary_command(args: argparse.Namespace, settings: QuickSettings) -> int:
    """Print the telemetry summary of the workspace (text, or JSON with ``--json``)."""
    workspace = Workspace.at(settings.root)
    with _registry(settings, workspace) as statuses:
        summary = summarise_workspace(
            workspace, since=args.since, runs=tuple(args.run or ()), statuses=statuses
        )
    if args.json:
        emit_json(summary)
    elif "comparison" in summary:
        sys.stdout.write(format_comparison(summary))
    else:
        sys.stdout.write(format_summary(summary))
    return 0


@contextlib.contextmanager
def _registry(settings: QuickSettings, workspace: Workspace) -> Generator[StatusLookup | None]:
    """The run registry's statuses when the workspace has one (never creates it)."""
    if not registry_exists(workspace):
        yield None
        return
    registry = open_run_registry(
        workspace, retention=settings.runs_retention, token_ttl=settings.run_token_ttl
    )
    try:
        yield registry.statuses
    finally:
        registry.close()


def _rate(value: object) -> str:
    return f"{value:.1%}" if isinstance(value, float) else "-"


def format_summary(summary: dict[str, Any]) -> str:
    """A summary as aligned text for a terminal."""
    source = summary["source"]
    if not summary["events"]:
        return f"no telemetry events (files read: {', '.join(source['files']) or 'none'})\n"
    window = summary["window"]
    lines = [
        f"events {summary['events']}  ({window['first']} → {window['last']})"
        f"  corrupt lines skipped: {source['corrupt_lines']}",
        f"runs {len(summary['runs'])}  LLM attempts {summary['llm']['attempts']}"
        f"  calls/run {summary['llm']['calls_per_run']}  cached {summary['llm']['cached']}",
        "",
        f"{'stage':<22}{'lang':<6}{'count':>7}{'p50 s':>10}{'p95 s':>10}{'p99 s':>10}",
    ]
    for stage, languages in summary["stages"].items():
        for language, d in languages.items():
            lines.append(
                f"{stage:<22}{language:<6}{d['count']:>7}{d['p50']:>10.3f}"
                f"{d['p95']:>10.3f}{d['p99']:>10.3f}"
            )
    rates = summary["rates"]
    lines += ["", "  ".join(f"{name} {_rate(rates[name])}" for name in _RATES)]
    caches = rates["cache_hit_rate"]
    lines.append("cache hit rate  " + "  ".join(f"{k} {_rate(v)}" for k, v in caches.items()))
    if summary["slowest_areas"]:
        lines += ["", "slowest areas:"]
        lines += [
            f"  {a['area']:<24}{a['seconds']:>9.3f} s  {a['outcome']}  (run {a['run_id']})"
            for a in summary["slowest_areas"]
        ]
    return "\n".join(lines) + "\n"


def format_comparison(result: dict[str, Any]) -> str:
    """A before/after comparison as text: the figures that changed."""
    before, after = result["before"]["run_id"], result["after"]["run_id"]
    lines = [
        f"before {before}  →  after {after}",
        f"{'figure':<52}{'before':>11}{'after':>11}{'ratio':>8}",
    ]
    for key, change in result["comparison"].items():
        if change["before"] == change["after"]:
            continue
        ratio = change["ratio"]
        lines.append(
            f"{key:<52}{_figure(change['before']):>11}{_figure(change['after']):>11}"
            f"{(f'{ratio:.2f}' if ratio is not None else '-'):>8}"
        )
    if len(lines) == 2:
        lines.append("(no figure changed)")
    return "\n".join(lines) + "\n"


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"
