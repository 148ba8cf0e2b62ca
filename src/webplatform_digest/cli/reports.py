"""The text reports of ``process`` and ``pages``, shared by the full and the fast paths.

One function per report, taking the summary values, so an unchanged re-run answered from a
stamp (``cli/fast.py``) prints the very bytes the full path prints.

The ``process`` tables are rich tables. When rich would print them without any styling (not a
terminal, no colour or size forced by the environment) and the text is plain printable ASCII
that fits the width rich would lay it out in, the same characters are composed here instead,
which spares the ~25 ms of importing rich; ``tests/cli/test_reports.py`` holds the two equal.
Anything else goes to rich.
"""

import os
import re
import sys
from collections.abc import Mapping, Sequence

from webplatform_digest.services.summaries import PagesSummary, ProcessSummary
from webplatform_digest.storage.workspace import Workspace

#: printable ASCII without ``[`` (rich reads ``[b]`` as markup in a string it prints)
_PLAIN_TEXT = re.compile(r"[ -Z\\-~]*")
#: what rich reads as an emoji code in a string it prints (``:smile:``)
_EMOJI_CODE = re.compile(r":\S*:")
#: variables with which rich styles its output or sizes it otherwise
_RICH_VARIABLES = ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "JUPYTER_COLUMNS")
_DEFAULT_WIDTH = 80

Row = tuple[str, str, str]


def print_process_summaries(summaries: Sequence[ProcessSummary], names: Mapping[str, str]) -> None:
    """One table of areas per release (``names``: area id → name), then its counts."""
    width = plain_width()
    blocks = [_process_block(summary, names, width) for summary in summaries]
    if all(block is not None for block in blocks):
        sys.stdout.write("".join(block for block in blocks if block is not None))
    else:
        _print_with_rich(summaries, names)


def _rows(summary: ProcessSummary, names: Mapping[str, str]) -> list[Row]:
    return [(area_id, names[area_id], str(count)) for area_id, count in summary.areas]


def _title(summary: ProcessSummary) -> str:
    return f"Chrome {summary.version} ({summary.channel.value})"


def _footer(summary: ProcessSummary) -> list[str]:
    lines = [
        f"{summary.features_total} features ({summary.webgpu_features} from WebGPU notes), "
        f"{summary.links_total} links; files: {len(summary.written)} written, "
        f"{len(summary.unchanged)} unchanged, {len(summary.removed)} removed"
    ]
    if summary.unclassified:
        shown = ", ".join(summary.unclassified)
        lines.append(f"unclassified sections (sent to 'other'): {shown}")
    return lines


def _process_block(
    summary: ProcessSummary, names: Mapping[str, str], width: int | None
) -> str | None:
    """The table and counts of one release as rich prints them unstyled, or None when only
    rich can say."""
    if width is None:
        return None
    table = plain_table(_title(summary), ("area", "name", "features"), _rows(summary, names), width)
    footer = _footer(summary)
    if table is None or not all(_is_plain(line) for line in footer):
        return None
    return table + "".join(f"{line}\n" for line in footer)


def plain_width() -> int | None:
    """The width rich lays a table out in when it prints without styles; None when it would
    style its output (a terminal, or the environment says so) or size it otherwise."""
    if sys.platform == "win32" or any(name in os.environ for name in _RICH_VARIABLES):
        return None
    try:
        if sys.stdout.isatty():
            return None
    except ValueError:
        return None
    # like rich: the first standard stream that is a terminal gives the width, else 80
    for descriptor in (0, 1, 2):
        try:
            return os.get_terminal_size(descriptor).columns or _DEFAULT_WIDTH
        except (OSError, ValueError):
            continue
    return _DEFAULT_WIDTH


def plain_table(title: str, headers: Row, rows: Sequence[Row], width: int) -> str | None:
    """A heavy-headed box table (the last column right-aligned) with its title line, as rich
    prints ``Table(title=...)`` on a soft-wrapping console ``width`` wide; None when a cell is
    not plain text or the table does not fit (rich would then shrink and wrap it)."""
    cells = [title, *headers, *(cell for row in rows for cell in row)]
    if not all(_is_plain(cell) for cell in cells):
        return None
    widths = [max(len(row[column]) for row in (headers, *rows)) for column in range(3)]
    if sum(widths) + 3 * len(widths) + 1 > width:
        return None

    def rule(left: str, fill: str, middle: str, right: str) -> str:
        return left + middle.join(fill * (size + 2) for size in widths) + right + "\n"

    def line(row: Row, bar: str) -> str:
        texts = [row[0].ljust(widths[0]), row[1].ljust(widths[1]), row[2].rjust(widths[2])]
        return bar + bar.join(f" {text} " for text in texts) + bar + "\n"

    return (
        f"{title}\n"
        + rule("┏", "━", "┳", "┓")
        + line(headers, "┃")
        + rule("┡", "━", "╇", "┩")
        + "".join(line(row, "│") for row in rows)
        + rule("└", "─", "┴", "┘")
    )


def _is_plain(text: str) -> bool:
    """Whether rich prints ``text`` as it is (no markup, emoji code, tab or control character)."""
    return bool(_PLAIN_TEXT.fullmatch(text)) and not _EMOJI_CODE.search(text)


def _print_with_rich(summaries: Sequence[ProcessSummary], names: Mapping[str, str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(soft_wrap=True)
    for summary in summaries:
        table = Table(title=_title(summary))
        table.add_column("area")
        table.add_column("name")
        table.add_column("features", justify="right")
        for area_id, name, count in _rows(summary, names):
            table.add_row(Text(area_id), Text(name), count)
        console.print(table)
        for line in _footer(summary):
            console.print(line, markup=False)


def describe_pages(summary: PagesSummary, workspace: Workspace) -> str:
    """The human-readable report of a site generation."""
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
