"""Pages benchmark: the full site for every release of the corpus, with offline digests.

Setup (not timed): parse and classify every Chrome release of the corpus (with its WebGPU
note), build the deterministic offline digest of every area in English and Chinese, and write
the digest files. Timed, through a real ``WriteQueue`` (locks, fsync): the cold build, an
unchanged re-run, a re-run after one digest changed, and the cold HTML preview; plus the pure
rendering alone. Targets: cold < 0.3 s for ~500 pages; an unchanged re-run writes 0 files.
"""

import functools
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from benchmarks.common import corpus_dir, peak_rss_mib
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
    render_site,
    select_pages,
)
from webplatform_digest.site.history import clear_caches as clear_history_caches
from webplatform_digest.site.html import render_digest_html
from webplatform_digest.site.markdown import clear_caches as clear_markdown_caches
from webplatform_digest.site.model import area_names, build_site_model, entry_from_file
from webplatform_digest.storage.area_store import load_catalog
from webplatform_digest.storage.commit import atomic_write
from webplatform_digest.storage.queue import WriteQueue
from webplatform_digest.storage.workspace import Workspace

COLD_TARGET_S = 0.3
#: the target is per 500 pages (the whole corpus makes more)
COLD_TARGET_PAGES = 500
REPEATS = 3


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


def _clear_caches() -> None:
    """Forget rendered digests so a measurement starts cold."""
    clear_markdown_caches()
    clear_history_caches()
    render_digest_html.cache_clear()


def _render_only(workspace: Workspace, catalog: FocusAreaManager) -> tuple[float, float]:
    """Seconds to read + model + render the Jekyll site, and the HTML preview, without writing."""
    _clear_caches()
    root = workspace.root / Workspace.DIGESTS / "areas"
    started = time.perf_counter()
    entries = [
        entry_from_file(Workspace.DIGESTS / "areas" / p.parent.name / p.name, p.read_bytes())
        for p in sorted(root.glob("*/chrome-*.md"))
    ]
    model = build_site_model(entries, area_names(catalog))
    pages = select_pages(model, None, (Language.EN, Language.ZH))
    render_site(model, pages, html=False)
    markdown = time.perf_counter() - started
    _clear_caches()
    started = time.perf_counter()
    render_site(model, pages, html=True)
    return markdown, time.perf_counter() - started


def _change_one_digest(workspace: Workspace) -> None:
    path = sorted((workspace.root / Workspace.DIGESTS / "areas").glob("*/chrome-*-en.md"))[0]
    atomic_write(path, path.read_bytes() + b"\nOne more line.\n")


def _fresh_copy(source: Workspace, target: Path) -> Workspace:
    """A workspace with the same digests and no site."""
    shutil.copytree(source.root / Workspace.DIGESTS / "areas", target / Workspace.DIGESTS / "areas")
    return Workspace.at(target)


def _cold_runs(
    digests: Workspace, catalog: FocusAreaManager, tmp: Path
) -> tuple[float, PagesSummary]:
    """Median seconds of cold builds in fresh copies (caches cleared), and the last summary."""
    timings: list[float] = []
    summary: PagesSummary | None = None
    for index in range(REPEATS):
        workspace = _fresh_copy(digests, tmp / f"cold-{index}")
        _clear_caches()
        seconds, summary = anyio.run(functools.partial(_timed, workspace, catalog))
        timings.append(seconds)
    assert summary is not None
    return statistics.median(timings), summary


def run() -> dict[str, Any]:
    """Build the whole site cold, unchanged, after one change, and with the HTML preview."""
    corpus = corpus_dir()
    if corpus is None:
        return {"skipped": "corpus not found"}
    catalog = load_catalog(None)
    with tempfile.TemporaryDirectory() as tmp:
        digests = Workspace.at(Path(tmp) / "digests")
        count = _write_digests(digests, catalog, corpus)
        cold, first = _cold_runs(digests, catalog, Path(tmp))
        workspace = Workspace.at(Path(tmp) / f"cold-{REPEATS - 1}")
        warm = [anyio.run(functools.partial(_timed, workspace, catalog)) for _ in range(REPEATS)]
        _change_one_digest(workspace)
        changed, third = anyio.run(functools.partial(_timed, workspace, catalog))
        _clear_caches()
        html_cold, html = anyio.run(functools.partial(_timed, workspace, catalog, html=True))
        render_markdown, render_html = _render_only(workspace, catalog)
    return {
        "releases": len(list(corpus.glob("chrome-*.md"))),
        "digest_files": count,
        "site_pages": first.pages,
        "cold_seconds_median": round(cold, 4),
        "cold_files_written": first.written,
        "cold_seconds_per_500_pages": round(cold * COLD_TARGET_PAGES / first.pages, 4),
        "cold_target_seconds_per_500_pages": COLD_TARGET_S,
        "cold_within_target": cold * COLD_TARGET_PAGES / first.pages < COLD_TARGET_S,
        "unchanged_seconds_median": round(statistics.median(s for s, _ in warm), 4),
        "unchanged_files_written": max(summary.written for _, summary in warm),
        "one_digest_changed_seconds": round(changed, 4),
        "one_digest_changed_files_written": third.written,
        "html_cold_seconds": round(html_cold, 4),
        "html_pages": html.pages - first.pages,
        "html_files_written": html.written,
        "render_only_markdown_seconds": round(render_markdown, 4),
        "render_only_with_html_seconds": round(render_html, 4),
        "peak_rss_mib": round(peak_rss_mib(), 1),
    }


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:<40} {value}")
