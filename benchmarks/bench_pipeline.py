"""Pipeline benchmark: parse + classify every release of the real corpus, in process.

Figures: per-release median time (parse Chrome note + its WebGPU note + classify), the slowest
release, the whole corpus per pass, YAML dump time, the area-data cache (cold vs warm loads),
and peak RSS. Targets: whole corpus < 0.5 s, one release well under 10 ms.
"""

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import corpus_dir, peak_rss_mib
from webplatform_digest.areas.classify import Classification, FocusAreaManager
from webplatform_digest.areas.data import area_data_set, dump_area_data
from webplatform_digest.models import ReleaseKey
from webplatform_digest.releases.notes import parse_release
from webplatform_digest.storage.area_store import AreaStore, load_catalog
from webplatform_digest.storage.workspace import Workspace

REPEATS = 7
CORPUS_TARGET_S = 0.5
RELEASE_TARGET_MS = 10.0


def _process(
    catalog: FocusAreaManager, name: str, text: str, webgpu: tuple[str, str] | None
) -> Classification:
    release = parse_release(text, source=name)
    other = parse_release(webgpu[1], source=webgpu[0]) if webgpu else None
    return catalog.classify_release(release, other)


def _pass(
    catalog: FocusAreaManager, chrome: dict[str, str], webgpu: dict[str, str]
) -> dict[str, float]:
    """One pass over the corpus; seconds per Chrome release (incl. its WebGPU note)."""
    timings: dict[str, float] = {}
    for name, text in chrome.items():
        stem = name.removesuffix(".md").removesuffix("-beta").replace("chrome-", "webgpu-")
        pair = (f"{stem}.md", webgpu[f"{stem}.md"]) if f"{stem}.md" in webgpu else None
        started = time.perf_counter()
        _process(catalog, name, text, pair)
        timings[name] = time.perf_counter() - started
    return timings


def _webgpu_only(catalog: FocusAreaManager, webgpu: dict[str, str]) -> float:
    started = time.perf_counter()
    for name, text in webgpu.items():
        parse_release(text, source=name)
    return time.perf_counter() - started


def _cache_figures(catalog: FocusAreaManager, chrome: dict[str, str]) -> dict[str, Any]:
    """Write every area file of the corpus, then load them all cold and warm."""
    with tempfile.TemporaryDirectory() as tmp:
        workspace = Workspace.at(tmp)
        dump_started = time.perf_counter()
        count = 0
        for name, text in chrome.items():
            release = parse_release(text, source=name)
            key = ReleaseKey(release.version, release.channel)
            for area, data in area_data_set(catalog.classify_release(release), key).items():
                path = workspace.path(Workspace.area_data_rel(area, key))
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(dump_area_data(data))
                count += 1
        dump_s = time.perf_counter() - dump_started
        store = AreaStore(workspace, max_entries=4096)
        cold, warm = _load_all(store), _load_all(store)
    return {
        "area_files": count,
        "yaml_dump_and_write_total_s": round(dump_s, 4),
        "area_load_cold_ms": round(cold * 1000, 2),
        "area_load_warm_ms": round(warm * 1000, 2),
        "area_cache_speedup": round(cold / warm, 1) if warm else 0.0,
        "area_cache_hits": store.stats.hits,
        "area_cache_misses": store.stats.misses,
    }


def _load_all(store: AreaStore) -> float:
    started = time.perf_counter()
    for key in store.available_releases():
        for area in store.areas_for(key):
            store.load(area, key)
    return time.perf_counter() - started


def run() -> dict[str, Any]:
    """Measure the pipeline over the corpus; report figures and whether targets are met."""
    directory = corpus_dir()
    if directory is None:
        return {"skipped": "corpus not found (../shared/corpus/release_notes)"}
    chrome = _texts(sorted(directory.glob("chrome-*.md")))
    webgpu = _texts(sorted(directory.glob("webgpu-*.md")))
    started = time.perf_counter()
    catalog = load_catalog()
    catalog_ms = (time.perf_counter() - started) * 1000
    _pass(catalog, chrome, webgpu)  # warm-up: regex caches, imports
    passes = [_pass(catalog, chrome, webgpu) for _ in range(REPEATS)]
    per_release = {name: statistics.median(p[name] for p in passes) for name in chrome}
    corpus_s = statistics.median(sum(p.values()) for p in passes)
    webgpu_s = statistics.median(_webgpu_only(catalog, webgpu) for _ in range(REPEATS))
    median_ms = statistics.median(per_release.values()) * 1000
    slowest = max(per_release, key=lambda name: per_release[name])
    features = sum(len(_process(catalog, n, t, None).features) for n, t in chrome.items())
    figures: dict[str, Any] = {
        "chrome_releases": len(chrome),
        "webgpu_notes": len(webgpu),
        "chrome_features": features,
        "catalog_load_ms": round(catalog_ms, 2),
        "release_median_ms": round(median_ms, 3),
        "release_max_ms": round(per_release[slowest] * 1000, 3),
        "release_slowest": slowest,
        "corpus_pass_s (chrome+merged webgpu, classify)": round(corpus_s, 4),
        "webgpu_all_notes_parse_s": round(webgpu_s, 4),
        "corpus_target_met (<0.5 s)": corpus_s < CORPUS_TARGET_S,
        "release_target_met (<10 ms)": per_release[slowest] * 1000 < RELEASE_TARGET_MS,
    }
    figures.update(_cache_figures(catalog, chrome))
    figures["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return figures


def _texts(paths: list[Path]) -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in paths}


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<50} {value}")
