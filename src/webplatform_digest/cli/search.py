"""``webplatform-digest search [QUERY] [--area] [--since] [--until] [--limit] [--json]``.

The same search as the ``search_features`` tool (``services/search.py``), printed as a table or,
with ``--json``, as the tool's result. Needs no container: it only reads the per-area files and
stores the feature index.
"""

import argparse
import sys

from webplatform_digest.cli._common import emit_json
from webplatform_digest.errors import InputError
from webplatform_digest.services.search import search_features, search_query
from webplatform_digest.settings import Settings
from webplatform_digest.site.search import SearchResult
from webplatform_digest.storage.area_store import load_catalog
from webplatform_digest.storage.workspace import Workspace

TITLE_CHARS = 60
_COLUMNS = ("release", "stage", "area", "title", "chromestatus")


def run_search_command(args: argparse.Namespace, settings: Settings) -> int:
    """Handle ``webplatform-digest search``; 0 whether or not anything matched.

    Raises:
        WebplatformError: bad arguments, unreadable area data, unwritable index.
    """
    workspace = Workspace.at(settings.workspace.root)
    query = search_query(
        load_catalog(workspace),
        query=" ".join(args.query),
        area=args.area,
        since=args.since,
        until=args.until,
        limit=_limit(args.limit),
    )
    result = search_features(workspace, query)
    if args.json:
        emit_json(result.to_json())
    else:
        sys.stdout.write(describe(result))
    return 0


def _limit(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputError(f"--limit {text[:20]!r}: give a whole number from 1 to 500") from None


def describe(result: SearchResult) -> str:
    """The result as an aligned text table, with a line saying how many matched."""
    if not result.features:
        return "No feature matches (run `webplatform-digest process --all` first?).\n"
    rows = [
        (
            f"{hit.version}{'' if hit.channel == 'stable' else ' ' + hit.channel}",
            hit.stage,
            hit.area,
            _cut(hit.title),
            hit.chromestatus,
        )
        for hit in result.features
    ]
    widths = [max(len(row[i]) for row in (_COLUMNS, *rows)) for i in range(len(_COLUMNS))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in (_COLUMNS, *rows)]  # fmt: skip
    shown = len(result.features)
    more = f" (first {shown} shown; raise --limit for more)" if shown < result.total else ""
    lines.append(f"{result.total} feature(s){more}")
    return "\n".join(lines) + "\n"


def _cut(title: str) -> str:
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"
