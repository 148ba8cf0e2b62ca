"""generate_pages: digests on disk → the Jekyll site and the HTML preview, as one batch."""

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.lowlevel import checkpoint

from tests.conftest import require_executable
from tests.site_samples import (
    HOSTILE,
    NAMES,
    broken_internal_links,
    digest,
    link_targets,
    write_digest,
    write_sample_digests,
)
from webplatform_digest.digest.files import render_digest_file
from webplatform_digest.errors import InputError, InvalidVersionError, NotFoundError
from webplatform_digest.events import PagesGenerated, RecordingHook, Telemetry
from webplatform_digest.models import DigestStatus, Language, ReleaseKey
from webplatform_digest.services.pages import MANIFEST, PagesSummary, generate_pages
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import DirectWriter, WriteQueue, WriteQueueConfig

KEY = ReleaseKey(144)
SITE = Workspace.DIGESTS


async def _generate(workspace: Workspace, **options: Any) -> PagesSummary:
    return await generate_pages(workspace, NAMES, DirectWriter(workspace), **options)


def _manifest(workspace: Workspace) -> dict[str, str]:
    return json.loads(workspace.path(MANIFEST).read_bytes())["files"]


def _mismatches(workspace: Workspace) -> list[str]:
    """Manifest entries whose file on disk has other bytes (a mixed generation)."""
    wrong = []
    for rel, expected in _manifest(workspace).items():
        path = workspace.root / rel
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            wrong.append(rel)
    return wrong


async def test_the_site_has_every_documented_page(workspace: Workspace) -> None:
    """Config, layouts, home, release and area indexes, digest pages, in both languages."""
    write_sample_digests(workspace)
    hook = RecordingHook()
    summary = await _generate(workspace, telemetry=Telemetry((hook,)))
    site = workspace.root / SITE
    for rel in (
        "_config.yml",
        "_layouts/default.html",
        "_layouts/digest.html",
        "assets/site.css",
        "index.md",
        "versions/index.md",
        "versions/chrome-144/index.md",
        "versions/chrome-144-beta/css.md",
        "areas/index.md",
        "areas/webgpu/index.md",
        "zh/index.md",
        "zh/versions/chrome-143/javascript.md",
        "zh/areas/css/index.md",
    ):
        assert (site / rel).is_file(), rel
    assert summary.pages == 2 * (3 + 3 + 3 + 3) + 18  # + an area timeline per area
    assert summary.written == summary.pages + 5 + 2 * (1 + 3)  # + config, layouts, css; feeds
    assert _mismatches(workspace) == []
    assert [e.pages for e in hook.of(PagesGenerated)] == [summary.pages]
    area_page = (site / "areas/css/index.md").read_text(encoding="utf-8")
    assert "[Chrome 144 Beta](../../versions/chrome-144-beta/css.html)" in area_page
    assert 'href="../../zh/areas/css/"' in area_page


async def test_an_unchanged_rerun_through_the_queue_writes_zero_files(workspace: Workspace) -> None:
    """Nothing changed → nothing written, and the summary says so."""
    write_sample_digests(workspace)
    async with WriteQueue.open(workspace) as queue:
        first = await generate_pages(workspace, NAMES, queue, html=True)
        second = await generate_pages(workspace, NAMES, queue, html=True)
    assert first.written > 0
    assert (second.written, second.removed) == (0, 0)
    assert second.unchanged == first.written
    assert second.to_json()["written"] == 0


async def test_pages_no_longer_valid_are_removed_and_digests_never_are(
    workspace: Workspace,
) -> None:
    """Drop an area's digests: its pages (markdown and HTML) go; other files stay."""
    write_sample_digests(workspace)
    await _generate(workspace, html=True)
    for path in (workspace.root / SITE / "areas" / "webgpu").glob("chrome-*.md"):
        path.unlink()
    summary = await _generate(workspace)
    site, preview = workspace.root / SITE, workspace.root / Workspace.SITE
    assert not (site / "areas/webgpu/index.md").exists()
    assert not (site / "zh/versions/chrome-144/webgpu.md").exists()
    assert not (preview / "versions/chrome-143/webgpu.html").exists()
    # area and timeline pages, digest pages, in markdown and preview; the area's feeds
    assert summary.removed == 2 * (2 + 3) * 2 + 2
    assert (site / "areas/css/chrome-144-en.md").is_file()
    assert (preview / "versions/chrome-143/css.html").is_file()
    assert _mismatches(workspace) == []


async def test_a_tampered_manifest_cannot_remove_digests_or_anything_outside(
    workspace: Workspace, tmp_path: Path
) -> None:
    """Only generated page files are ever removed, whatever the manifest lists."""
    write_sample_digests(workspace)
    outside = tmp_path / "outside.md"
    outside.write_text("keep", encoding="utf-8")
    (workspace.root / "notes.md").write_text("keep", encoding="utf-8")
    listed = [
        "digest_markdown/areas/css/chrome-144-en.md",
        "../outside.md",
        str(outside),
        "notes.md",
        "digest_markdown/../notes.md",
        "site/../../outside.md",
    ]
    workspace.path(MANIFEST).parent.mkdir(parents=True, exist_ok=True)
    workspace.path(MANIFEST).write_text(json.dumps({"files": dict.fromkeys(listed, "0")}), "utf-8")
    summary = await _generate(workspace)
    assert summary.removed == 0
    assert outside.read_text(encoding="utf-8") == "keep"
    assert (workspace.root / "notes.md").is_file()
    assert (workspace.root / "digest_markdown/areas/css/chrome-144-en.md").is_file()


async def test_a_version_filter_renders_only_that_releases_digest_pages(
    workspace: Workspace,
) -> None:
    """``version=144`` rewrites 144's pages and the navigation, not 143's digest pages."""
    write_sample_digests(workspace)
    await _generate(workspace)
    for key in (ReleaseKey(143), KEY):
        write_digest(workspace, digest("css", key, Language.EN, f"## Changed {key.version}\n"))
    summary = await _generate(workspace, version="144", language="en")
    site = workspace.root / SITE
    assert "Changed 144" in (site / "versions/chrome-144/css.md").read_text("utf-8")
    assert "Changed 143" not in (site / "versions/chrome-143/css.md").read_text("utf-8")
    # the changed page, the release pages and the area timeline listing the changed features,
    # the site and area feeds, the manifest: never 143's digest page
    assert summary.written == 7
    assert _mismatches(workspace) == []


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"version": 99}, NotFoundError, "no digests of Chrome 99"),
        ({"version": "1e3"}, InvalidVersionError, "milestone"),
        ({"language": "fr"}, InputError, "language must be one of"),
    ],
)
async def test_bad_arguments_fail_clearly(
    workspace: Workspace, options: dict[str, object], error: type[Exception], text: str
) -> None:
    """Unknown version, malformed version and unknown language are refused with a reason."""
    write_sample_digests(workspace, releases=[KEY])
    with pytest.raises(error, match=text):
        await _generate(workspace, **options)


async def test_an_empty_workspace_says_where_digests_come_from(workspace: Workspace) -> None:
    """No digests at all: a not-found error naming the command that writes them."""
    with pytest.raises(NotFoundError, match="webplatform-digest run"):
        await _generate(workspace)


async def test_an_unreadable_digest_is_skipped_and_reported(workspace: Workspace) -> None:
    """A digest with broken front matter does not stop the site; the summary lists it."""
    write_sample_digests(workspace, releases=[KEY])
    bad = workspace.root / SITE / "areas/css/chrome-144-zh.md"
    bad.write_text("no front matter", encoding="utf-8")
    summary = await _generate(workspace)
    assert len(summary.skipped) == 1
    assert "chrome-144-zh.md" in summary.skipped[0]
    assert not (workspace.root / SITE / "zh/versions/chrome-144/css.md").exists()


async def test_a_symlinked_digest_is_skipped_not_followed(
    workspace: Workspace, tmp_path: Path
) -> None:
    """A digest file that is a symlink (e.g. to a file outside) is reported and not read."""
    write_sample_digests(workspace, releases=[KEY], areas=["css"])
    secret = tmp_path / "secret.md"
    secret.write_text("---\nsecret: yes\n---\n", encoding="utf-8")
    (workspace.root / SITE / "areas/css/chrome-143-en.md").symlink_to(secret)
    summary = await _generate(workspace)
    assert [s.split(":")[0] for s in summary.skipped] == [f"{SITE}/areas/css/chrome-143-en.md"]
    assert not (workspace.root / SITE / "versions/chrome-143").exists()


async def test_hostile_model_output_is_inert_in_the_site_and_the_preview(
    workspace: Workspace,
) -> None:
    """Script tags, script links and Liquid from the model survive in neither output."""
    write_digest(workspace, digest("css", KEY, Language.EN, HOSTILE))
    await _generate(workspace, html=True)
    markdown = (workspace.root / SITE / "versions/chrome-144/css.md").read_text("utf-8")
    body = markdown.split("\n---\n", 1)[1].replace("{#feature-1}", "")
    assert "{" not in body
    assert "<script" not in body
    preview = (workspace.root / "site/versions/chrome-144/css.html").read_text("utf-8")
    assert "<script" not in preview
    assert "&lt;script&gt;" in preview
    assert not [t for t in link_targets(preview) if t.lower().startswith(("javascript:", "data:"))]


@pytest.mark.slow
async def test_digest_writes_and_site_batches_run_concurrently_without_mixing(
    workspace: Workspace,
) -> None:
    """50 rounds of digest writes racing a site build: manifest and files always agree."""
    write_sample_digests(workspace, releases=[KEY])
    mixed_reads = reads = 0
    config = WriteQueueConfig(coalesce_window=0.005, stage_threads=2)
    async with WriteQueue.open(workspace, config) as queue:

        async def write_digests(round_no: int) -> None:
            for area in NAMES:
                item = digest(
                    "css" if area == "css" else area, KEY, Language.EN, f"## R{round_no}\n"
                )
                rel = Workspace.digest_rel(item.area, KEY, item.language)
                await queue.write(rel, render_digest_file(item), kind="digest")

        async def check_until(done: anyio.Event) -> None:
            nonlocal mixed_reads, reads
            while not done.is_set():
                async with queue.reading():
                    reads += 1
                    mixed_reads += bool(_mismatches(workspace))
                await checkpoint()

        async def race(round_no: int, done: anyio.Event) -> None:
            async with anyio.create_task_group() as writers:
                writers.start_soon(write_digests, round_no)
                writers.start_soon(build)
            done.set()

        build = functools.partial(generate_pages, workspace, NAMES, queue, html=True)
        await build()
        for round_no in range(50):
            done = anyio.Event()
            async with anyio.create_task_group() as group:
                group.start_soon(race, round_no, done)
                group.start_soon(check_until, done)
            assert _mismatches(workspace) == []
    assert reads >= 50
    assert mixed_reads == 0


@pytest.mark.e2e
async def test_jekyll_builds_the_site_safely_with_no_broken_links(
    workspace: Workspace, tmp_path: Path
) -> None:
    """``jekyll build --safe`` as GitHub Pages runs it: success, the pages exist, every internal
    link resolves (also under a project base URL), no script from the model."""
    jekyll = require_executable("jekyll")
    write_sample_digests(workspace)
    write_digest(workspace, digest("css", KEY, Language.EN, HOSTILE))
    await _generate(workspace)
    source = workspace.root / SITE
    for base_url, out in (("", tmp_path / "_site"), ("/repo", tmp_path / "_site_repo")):
        command = [jekyll, "build", "--safe", "--disable-disk-cache", "--source", str(source)]
        command += ["--destination", str(out), "--baseurl", base_url]
        await anyio.run_process(command, cwd=tmp_path)
        for rel in (
            "index.html",
            "zh/index.html",
            "versions/chrome-144/css.html",
            "areas/webgpu/index.html",
            "assets/site.css",
        ):
            assert (out / rel).is_file(), rel
        assert not list((out / "areas/css").glob("chrome-*"))
        assert broken_internal_links(out, base_url=base_url or "/") == []
    built = "\n".join(p.read_text("utf-8") for p in (tmp_path / "_site").rglob("*.html"))
    assert "<script" not in built
    assert 'href="/repo/assets/site.css"' in (tmp_path / "_site_repo/index.html").read_text("utf-8")
    hrefs = link_targets(built)
    assert not [h for h in hrefs if h.lower().startswith(("javascript:", "data:", "vbscript:"))]


@pytest.mark.e2e
async def test_jekyll_builds_a_site_in_five_languages_with_trees_switchers_feeds_and_alternates(
    workspace: Workspace, tmp_path: Path
) -> None:
    """en, zh, zh-TW, ja, es: each language has its tree and feed, every page lists the others
    with hreflang, a missing translation links to the release page, labels are the reader's."""
    jekyll = require_executable("jekyll")
    ja, tw, es = Language("ja"), Language("zh-TW"), Language("es")
    write_sample_digests(workspace, languages=(Language.EN, Language.ZH, ja, tw))
    write_digest(workspace, digest("css", KEY, es, status=DigestStatus.FALLBACK))
    summary = await _generate(workspace, language="en,zh,zh-TW,ja,es")
    assert summary.pages > 0
    source = workspace.root / SITE
    out = tmp_path / "_site"
    command = [jekyll, "build", "--safe", "--disable-disk-cache", "--source", str(source)]
    await anyio.run_process([*command, "--destination", str(out)], cwd=tmp_path)
    for rel in (
        "index.html", "zh/index.html", "zh-TW/index.html", "ja/index.html", "es/index.html",
        "ja/versions/chrome-144/css.html", "es/versions/chrome-144/css.html",
        "ja/feed.xml", "zh-TW/areas/css/feed.xml", "es/feed.xml",
    ):  # fmt: skip
        assert (out / rel).is_file(), rel
    assert broken_internal_links(out, base_url="/") == []
    page = (out / "ja/versions/chrome-144/css.html").read_text("utf-8")
    assert '<html lang="ja">' in page
    assert "ウェブ プラットフォーム ダイジェスト" in page  # the site name from ja.yaml
    for lang, href in (("en", "/versions/chrome-144/css.html"), ("zh-TW", "/zh-TW/versions/")):
        assert f'<link rel="alternate" hreflang="{lang}" href="{href}' in page
    assert page.count('class="switch"') == 4
    assert 'hreflang="es-' not in page
    spanish = (out / "es/versions/chrome-144/css.html").read_text("utf-8")
    assert "Escrito sin un LLM" in spanish  # the fallback notice in the reader's language
    # the Spanish tree links the areas it lacks to another language, said in Spanish
    assert "(en inglés)" in (out / "es/versions/chrome-144/index.html").read_text("utf-8")
    feed = (out / "ja/feed.xml").read_text("utf-8")
    assert 'xml:lang="ja"' in feed
