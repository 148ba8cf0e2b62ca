"""``webplatform-digest areas``: the focus-area catalogue as a table or JSON.

It needs only the workspace root, so it runs on the light settings when they suffice
(``quick_settings.py``) and never builds the container.
"""

import argparse
from pathlib import Path
from typing import Any

from webplatform_digest.areas.classify import FocusAreaManager
from webplatform_digest.cli._common import emit_json
from webplatform_digest.storage.area_store import load_catalog
from webplatform_digest.storage.workspace import Workspace


def run_areas_command(args: argparse.Namespace, root: Path) -> int:
    """List the focus-area catalogue of the workspace at ``root`` (shipped defaults plus the
    workspace's overrides).

    Raises:
        ConfigError: a focus-area file is malformed or unreadable.
    """
    catalog = load_catalog(Workspace.at(root))
    if args.json:
        emit_json([_area_json(area_id, catalog) for area_id in catalog.ids])
        return 0
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Focus areas", show_lines=False)
    for column in ("id", "name", "中文", "priority", "sections", "keywords"):
        table.add_column(column)
    for area in catalog.areas:
        cells = (
            area.id,
            area.name,
            area.name_zh,
            str(area.priority),
            str(len(area.heading_patterns) + len(area.aliases)),
            str(len(area.keywords)),
        )
        table.add_row(*(Text(cell) for cell in cells))
    Console(soft_wrap=True).print(table)
    return 0


def _area_json(area_id: str, catalog: FocusAreaManager) -> dict[str, Any]:
    area = catalog.get(area_id)
    return {
        "id": area.id,
        "name": area.name,
        "name_zh": area.name_zh,
        "description": area.description,
        "priority": area.priority,
        "heading_patterns": list(area.heading_patterns),
        "aliases": list(area.aliases),
        "keywords": list(area.keywords),
        "multi_tag": area.multi_tag,
    }
