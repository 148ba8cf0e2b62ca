"""Pages benchmark: the full site for every release of the corpus, with offline digests.

Setup (not timed): parse and classify every Chrome release of the corpus (with its WebGPU
note), build the deterministic offline digest of every area in English and Chinese, and write
the digest files. Timed, through a real ``WriteQueue`` (locks, fsync): the cold build, an
unchanged re-run, a re-run after one digest changed, and the cold HTML preview; plus the pure
rendering alone and the cold build phase by phase. Targets: cold < 0.3 s for ~500 pages; an
unchanged re-run writes 0 files.

"Cold" means a fresh process (no cache of any module warm, nothing rendered yet) and an empty
output folder: each cold figure is measured in a subprocess of its own, which times only its
in-process work (interpreter start-up and imports are not counted; data files a build loads
lazily are). Warm figures (unchanged, one digest changed) are measured in this process, as a
long-lived server sees them; ``unchanged_fresh_process_seconds`` is the same re-run as the CLI
sees it.

Creating files is slow on some filesystems and its speed varies from minute to minute, so each
cold child also times the floor of its commit right after its build: the same files written
into an empty folder of the same filesystem by a plain loop (create, write, close; no temp
file, no rename, no sync: what no crash-safe writer can beat). ``cold_write_floor_*`` is that
floor and ``cold_above_floor_*`` the build minus it.
"""

import functools
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from benchmarks.common import corpus_dir, in_fresh_process, peak_rss_mib
from webplatform_digest.areas.classify import FocusAreaManager
from webplatform_digest.areas.data import area_data_set
from webplatform_digest.digest.files import render_digest_file
from webplatform_digest.digest.prompts import (
    Subject,
    digest_title,
    fallback_chinese,
    fallback_english,
)
from webplatform_digest.models import AreaDigest, Channel, DigestStatus, Language, ReleaseKey
from webplatform_digest.releases.notes import parse_release
from webplatform_digest.services.pages import (
    PagesSummary,
    generate_pages,
    plan_commit,
    render_site,
    scan_digests,
    select_pages,
)
from webplatform_digest.site.model import area_names, build_site_model, entry_from_file
from webplatform_digest.storage.area_store import load_catalog
from webplatform_digest.storage.commit import atomic_write
from webplatform_digest.storage.queue import WriteQueue
from webplatform_digest.storage.workspace import Workspace

COLD_TARGET_S = 0.3
#: the target is per 500 pages (the whole corpus makes more)
COLD_TARGET_PAGES = 500
REPEATS = 5


def _key(name: str) -> ReleaseKey:
    stem = name.removesuffix(".md").removeprefix("chrome-")
    beta = stem.endswith("-beta")
    return ReleaseKey(int(stem.removesuffix("-beta")), Channel.BETA if beta else Channel.STABLE)


def _digests(
    catalog: FocusAreaManager, corpus: Path, key: ReleaseKey, name: str
) -> list[AreaDigest]:
    release = parse_release(corpus.joinpath(name).read_text(encoding="utf-8"), source=name)
    webgpu_file = corpus / f"webgpu-{key.version}.md"
    webgpu = None
    if webgpu_file.is_file():
        webgpu = parse_release(webgpu_file.read_text(encoding="utf-8"), source=webgpu_file.name)
    found: list[AreaDigest] = []
    for area, data in area_data_set(catalog.classify_release(release, webgpu), key).items():
        names = catalog.get(area)
        subject = Subject(data, names.name, names.name_zh)
        english = fallback_english(subject)
        for language, body in ((Language.EN, english), (Language.ZH, fallback_chinese(english))):
            found.append(
                AreaDigest(area, key.version, key.channel, language, body, DigestStatus.FALLBACK,
                           "offline", title=digest_title(subject, language),
                           generated_at="2026-01-13T10:00:00Z")
            )  # fmt: skip
    return found


def _write_digests(workspace: Workspace, catalog: FocusAreaManager, corpus: Path) -> int:
    count = 0
    for path in sorted(corpus.glob("chrome-*.md")):
        key = _key(path.name)
        for item in _digests(catalog, corpus, key, path.name):
            rel = Workspace.digest_rel(item.area, key, item.language)
            atomic_write(workspace.path(rel), render_digest_file(item))
            count += 1
    return count


async def _timed(
    workspace: Workspace, catalog: FocusAreaManager, **options: Any
) -> tuple[float, PagesSummary]:
    async with WriteQueue.open(workspace) as queue:
        started = time.perf_counter()
        summary = await generate_pages(workspace, catalog, queue, **options)
        return time.perf_counter() - started, summary


async def _phases(workspace: Workspace, catalog: FocusAreaManager) -> dict[str, float]:
    """Seconds of each step of a build, taken one at a time as ``generate_pages`` takes them."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal started
        now = time.perf_counter()
        seconds[name] = round(now - started, 4)
        started = now

    async with WriteQueue.open(workspace) as queue:
        started = time.perf_counter()
        entries, _, previous = scan_digests(workspace)
        lap("read")
        model = build_site_model(entries, area_names(catalog))
        pages = select_pages(model, None, model.languages)
        lap("model")
        rendered = render_site(model, pages, html=False)
        lap("render")
        files, stale = plan_commit(model, rendered, previous)
        lap("plan")
        await queue.write_batch(files, kind="page", remove=stale)
        lap("commit")
    return seconds


def _render_only(workspace: Workspace, catalog: FocusAreaManager, html: bool) -> float:
    """Seconds to read + model + render the Jekyll site (and the preview), without writing."""
    root = workspace.root / Workspace.DIGESTS / "areas"
    started = time.perf_counter()
    entries = [
        entry_from_file(Workspace.DIGESTS / "areas" / p.parent.name / p.name, p.read_bytes())
        for p in sorted(root.glob("*/chrome-*.md"))
    ]
    model = build_site_model(entries, area_names(catalog))
    pages = select_pages(model, None, (Language.EN, Language.ZH))
    render_site(model, pages, html=html)
    return time.perf_counter() - started


def _peak_rss_kib() -> int:
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child of a big parent inherits it
    status = Path("/proc/self/status").read_text(encoding="utf-8")
    found = re.search(r"VmHWM:\s+(\d+)", status)
    return int(found.group(1)) if found else 0


def _write_floor(root: Path, files: list[Path]) -> float:
    """Seconds to write ``files`` (paths under ``root``) again under a new sibling folder of
    ``root`` with a plain loop; the copy is removed afterwards."""
    target = root.parent / f"{root.name}-floor"
    contents = [(target / path.relative_to(root), path.read_bytes()) for path in files]
    started = time.perf_counter()
    for path, data in contents:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    seconds = time.perf_counter() - started
    shutil.rmtree(target)
    return seconds


def _site_files(root: Path) -> list[Path]:
    """Every file of the built site (not the digests, not the workspace's own state)."""
    digests = root / Workspace.DIGESTS
    sources = set(digests.glob("areas/*/chrome-*.md"))
    return [p for p in sorted(digests.rglob("*")) if p.is_file() and p not in sources]


def child(mode: str, root: str) -> dict[str, Any]:
    """One cold measurement in this (fresh) process: ``build``, ``html``, ``phases``,
    ``render`` or ``render-html`` on the workspace at ``root``."""
    workspace, catalog = Workspace.at(root), load_catalog(None)
    figures: dict[str, Any] = {}
    if mode in ("build", "html"):
        options = {"html": mode == "html"}
        seconds, summary = anyio.run(functools.partial(_timed, workspace, catalog, **options))
        figures = {"seconds": seconds, "pages": summary.pages, "written": summary.written}
        if mode == "build" and summary.written:
            site = _site_files(Path(root))
            figures.update(write_floor=_write_floor(Path(root), site), floor_files=len(site))
    elif mode == "phases":
        figures = {"phases": anyio.run(_phases, workspace, catalog)}
    else:
        figures = {"seconds": _render_only(workspace, catalog, html=mode == "render-html")}
    return {**figures, "peak_rss_kib": _peak_rss_kib()}


def _in_child(mode: str, root: Path) -> dict[str, Any]:
    """``child(mode, root)`` in a fresh interpreter (no cache warm, nothing imported)."""
    return in_fresh_process("benchmarks.bench_pages", mode, str(root))


def _change_one_digest(workspace: Workspace) -> None:
    path = sorted((workspace.root / Workspace.DIGESTS / "areas").glob("*/chrome-*-en.md"))[0]
    atomic_write(path, path.read_bytes() + b"\nOne more line.\n")


def _fresh_copy(source: Workspace, target: Path) -> Workspace:
    """A workspace with the same digests and no site, the digests on disk as a digest run
    leaves them: synced (the copy's dirty pages would otherwise be flushed by the first fsync
    of the timed build, which then pays for the set-up's writes)."""
    shutil.copytree(source.root / Workspace.DIGESTS / "areas", target / Workspace.DIGESTS / "areas")
    os.sync()
    return Workspace.at(target)


def _cold_runs(digests: Workspace, tmp: Path) -> list[dict[str, Any]]:
    """Cold builds, each in a fresh process and a fresh copy of the digests (empty site)."""
    return [
        _in_child("build", _fresh_copy(digests, tmp / f"cold-{index}").root)
        for index in range(REPEATS)
    ]


def _median_of(runs: list[dict[str, Any]], key: str = "seconds") -> float:
    return statistics.median(float(run[key]) for run in runs)


def run() -> dict[str, Any]:
    """Build the whole site cold, unchanged, after one change, and with the HTML preview."""
    corpus = corpus_dir()
    if corpus is None:
        return {"skipped": "corpus not found"}
    catalog = load_catalog(None)
    with tempfile.TemporaryDirectory() as tmp:
        digests = Workspace.at(Path(tmp) / "digests")
        count = _write_digests(digests, catalog, corpus)
        colds = _cold_runs(digests, Path(tmp))
        phases = [_in_child("phases", _fresh_copy(digests, Path(tmp) / f"phases-{index}").root)
                  for index in range(REPEATS)]  # fmt: skip
        workspace = Workspace.at(Path(tmp) / f"cold-{REPEATS - 1}")
        fresh_unchanged = [_in_child("build", workspace.root) for _ in range(REPEATS)]
        anyio.run(functools.partial(_timed, workspace, catalog))  # warms this process up
        warm = [anyio.run(functools.partial(_timed, workspace, catalog)) for _ in range(REPEATS)]
        _change_one_digest(workspace)
        changed, third = anyio.run(functools.partial(_timed, workspace, catalog))
        html = _in_child("html", workspace.root)
        render = [_in_child("render", workspace.root) for _ in range(REPEATS)]
        render_html = _in_child("render-html", workspace.root)
    cold, pages = _median_of(colds), int(colds[0]["pages"])
    floor = _median_of(colds, "write_floor")
    above = statistics.median(float(run["seconds"]) - float(run["write_floor"]) for run in colds)
    children = [*colds, *phases, *fresh_unchanged, html, *render, render_html]
    return {
        "releases": len(list(corpus.glob("chrome-*.md"))),
        "digest_files": count,
        "site_pages": pages,
        "cold_seconds_median": round(cold, 4),
        "cold_seconds_min": round(min(float(run["seconds"]) for run in colds), 4),
        "cold_files_written": int(colds[0]["written"]),
        "cold_seconds_per_500_pages": round(cold * COLD_TARGET_PAGES / pages, 4),
        "cold_target_seconds_per_500_pages": COLD_TARGET_S,
        "cold_within_target": cold * COLD_TARGET_PAGES / pages < COLD_TARGET_S,
        "cold_write_floor_seconds_median": round(floor, 4),
        "cold_write_floor_files": int(colds[0]["floor_files"]),
        "cold_above_floor_seconds_per_500_pages": round(above * COLD_TARGET_PAGES / pages, 4),
        "cold_phase_seconds_median": {
            name: round(statistics.median(run["phases"][name] for run in phases), 4)
            for name in phases[0]["phases"]
        },
        "unchanged_seconds_median": round(statistics.median(s for s, _ in warm), 4),
        "unchanged_files_written": max(summary.written for _, summary in warm),
        "unchanged_fresh_process_seconds_median": round(_median_of(fresh_unchanged), 4),
        "unchanged_fresh_process_files_written": max(
            int(run["written"]) for run in fresh_unchanged
        ),
        "one_digest_changed_seconds": round(changed, 4),
        "one_digest_changed_files_written": third.written,
        "html_cold_seconds": round(float(html["seconds"]), 4),
        "html_pages": int(html["pages"]) - pages,
        "html_files_written": int(html["written"]),
        "render_only_markdown_seconds": round(_median_of(render), 4),
        "render_only_with_html_seconds": round(float(render_html["seconds"]), 4),
        "peak_rss_mib": round(
            max(peak_rss_mib(), *(int(run["peak_rss_kib"]) / 1024 for run in children)), 1
        ),
    }


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(json.dumps(child(sys.argv[1], sys.argv[2])))
    else:
        for name, value in run().items():
            print(f"{name:<40} {value}")
