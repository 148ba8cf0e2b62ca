"""Feature-index benchmark: the index of every processed release of the corpus.

Setup (not timed): copy the corpus notes into a temporary workspace and process them all
(Chrome 124-144 with their WebGPU notes). Timed: the cold build (no stored index: every
per-area file read), an unchanged refresh (nothing read, nothing written), a refresh after one
per-area file changed, and one search ("what changed in CSS since 140"). Target: cold < 0.2 s.

"Cold" means what it means for the pages benchmark: a fresh process (as ``search`` from the
shell starts) with no stored index, timing only the build, not interpreter start-up and
imports. The same build in this process right after processing the corpus, as a long-lived
server meets it, is ``cold_in_process_seconds_median``. This host's speed varies by tens of
percent from one minute to the next, so each child also times the baseline right after its
build: reading every per-area file with PyYAML's safe loader (libyaml) and nothing else; the
ratio to it is steadier than seconds.
"""

import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any

import anyio
import yaml

from benchmarks.common import corpus_dir, in_fresh_process, peak_rss_mib
from webplatform_digest.services.process import process_all
from webplatform_digest.site.search import SearchQuery, search
from webplatform_digest.storage.area_store import load_catalog
from webplatform_digest.storage.feature_index import IndexRefresh, area_files, refresh_index
from webplatform_digest.storage.workspace import Workspace

COLD_TARGET_S = 0.2
REPEATS = 5


def _timed(workspace: Workspace) -> tuple[float, IndexRefresh]:
    started = time.perf_counter()
    refreshed = refresh_index(workspace)
    return time.perf_counter() - started, refreshed


def _cold(workspace: Workspace) -> tuple[float, IndexRefresh]:
    (workspace.root / Workspace.FEATURE_INDEX).unlink(missing_ok=True)
    return _timed(workspace)


def _safe_load_all(workspace: Workspace) -> float:
    """Seconds to read and ``yaml.load`` every per-area file (the baseline)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    started = time.perf_counter()
    for path, _ in area_files(workspace).values():
        yaml.load(path.read_bytes().decode("utf-8"), Loader=loader)
    return time.perf_counter() - started


def child(root: str) -> dict[str, float]:
    """One cold build of the index of the workspace at ``root`` in this (fresh) process, then
    the baseline."""
    workspace = Workspace.at(root)
    seconds, _ = _cold(workspace)
    return {"seconds": seconds, "baseline": _safe_load_all(workspace)}


def run() -> dict[str, Any]:
    """Build the index cold, refresh it unchanged and after one change, search it once."""
    corpus = corpus_dir()
    if corpus is None:
        return {"skipped": "corpus not found"}
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace.at(tmp)
        shutil.copytree(corpus, workspace.root / Workspace.RELEASE_NOTES)
        anyio.run(process_all, workspace, load_catalog(None))
        cold = [
            in_fresh_process("benchmarks.bench_index", str(workspace.root), timeout=120)
            for _ in range(REPEATS)
        ]
        in_process = [_cold(workspace)[0] for _ in range(REPEATS)]
        unchanged = [_timed(workspace) for _ in range(REPEATS)]
        one = next((workspace.root / Workspace.PROCESSED / "css").glob("chrome-*.yml"))
        os.utime(one, ns=(1, 1))
        changed_seconds, changed = _timed(workspace)
        index = changed.index
        started = time.perf_counter()
        found = search(index, SearchQuery(area="css", since=140, limit=500))
        search_seconds = time.perf_counter() - started
    cold_median = statistics.median(run["seconds"] for run in cold)
    ratios = [run["seconds"] / run["baseline"] for run in cold]
    return {
        "area_files": len(index.files),
        "features": len(index.features),
        "cold_seconds_median": round(cold_median, 4),
        "cold_target_seconds": COLD_TARGET_S,
        "cold_within_target": cold_median < COLD_TARGET_S,
        "cold_baseline_safe_load_seconds_median": round(
            statistics.median(run["baseline"] for run in cold), 4
        ),
        "cold_vs_baseline_ratio_median": round(statistics.median(ratios), 3),
        "cold_in_process_seconds_median": round(statistics.median(in_process), 4),
        "unchanged_seconds_median": round(statistics.median(s for s, _ in unchanged), 4),
        "unchanged_files_read": max(r.reread for _, r in unchanged),
        "unchanged_index_written": any(r.written for _, r in unchanged),
        "one_changed_seconds": round(changed_seconds, 4),
        "one_changed_files_read": changed.reread,
        "search_css_since_140_seconds": round(search_seconds, 4),
        "search_css_since_140_features": found.total,
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1])))
