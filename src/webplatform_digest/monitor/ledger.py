"""The versions ledger ``.monitoring/versions.json``: which note was fetched, when, from where.

```json
{"schema": 1,
 "entries": {"chrome-144": {"channel": "stable", "version": 144, "path": "release_notes/...",
                            "url": "https://...", "fetched_at": "2026-01-13T10:00:00Z",
                            "bytes": 51234, "sha256": "...", "title": "Chrome 144",
                            "features": 40, "sections": 8}}}
```
Entries are keyed by the note's file stem. The file is written atomically by the monitor, in the
same batch as the note it describes; an unreadable ledger is logged and started afresh.
"""

import hashlib
import logging
from pathlib import PurePosixPath
from typing import Any

import orjson

from webplatform_digest.releases.page import ConvertedNote
from webplatform_digest.storage.workspace import Workspace

log = logging.getLogger(__name__)

LEDGER_REL = Workspace.monitoring_rel("versions.json")
LEDGER_SCHEMA = 1


def empty_ledger() -> dict[str, Any]:
    """A ledger without entries."""
    return {"schema": LEDGER_SCHEMA, "entries": {}}


def read_ledger(workspace: Workspace) -> dict[str, Any]:
    """The ledger of ``workspace`` (empty when absent or unreadable)."""
    path = workspace.path(LEDGER_REL)
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return empty_ledger()
    except (OSError, orjson.JSONDecodeError) as exc:
        log.warning("versions ledger unreadable (%s); starting a new one", exc)
        return empty_ledger()
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        log.warning("versions ledger has an unknown shape; starting a new one")
        return empty_ledger()
    return data


def ledger_entry(
    note: ConvertedNote, rel: PurePosixPath, url: str, data: bytes, fetched_at: str
) -> dict[str, Any]:
    """The ledger record of one fetched note."""
    return {
        "channel": note.track.value,
        "version": note.version,
        "url": url,
        "path": rel.as_posix(),
        "fetched_at": fetched_at,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "title": note.title,
        "features": note.feature_count,
        "sections": note.section_count,
    }


def with_entry(ledger: dict[str, Any], key: str, entry: dict[str, Any]) -> bytes:
    """The serialised ledger with ``entry`` recorded under ``key`` (stable key order)."""
    entries = dict(ledger.get("entries", {}))
    entries[key] = entry
    updated = {**ledger, "schema": LEDGER_SCHEMA, "entries": entries}
    return orjson.dumps(updated, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
