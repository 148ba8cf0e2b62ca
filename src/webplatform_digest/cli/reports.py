"""The text reports of ``process`` and ``pages``, shared by the full and the fast paths.

One function per report, taking the summary values, so an unchanged re-run answered from a
stamp (``cli/fast.py``) prints the very bytes the full path prints.
"""

from collections.abc import Mapping, Sequence

from webplatform_digest.services.summaries import PagesSummary, ProcessSummary
from webplatform_digest.storage.workspace import Workspace


def print_process_summaries(summaries: Sequence[ProcessSummary], names: Mapping[str, str]) -> None:
    """One table of areas per release (``names``: area id → name), then its counts."""
    # rich is for this table only: the JSON output and the other paths never load it
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(soft_wrap=True)
    for summary in summaries:
        table = Table(title=f"Chrome {summary.version} ({summary.channel.value})")
        table.add_column("area")
        table.add_column("name")
        table.add_column("features", justify="right")
        for area_id, count in summary.areas:
            table.add_row(Text(area_id), Text(names[area_id]), str(count))
        console.print(table)
        console.print(
            f"{summary.features_total} features ({summary.webgpu_features} from WebGPU notes), "
            f"{summary.links_total} links; files: {len(summary.written)} written, "
            f"{len(summary.unchanged)} unchanged, {len(summary.removed)} removed",
            markup=False,
        )
        if summary.unclassified:
            shown = ", ".join(summary.unclassified)
            console.print(f"unclassified sections (sent to 'other'): {shown}", markup=False)


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
