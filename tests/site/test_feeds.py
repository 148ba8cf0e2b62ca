"""Atom feeds: one per language and one per area and language, an entry per digest, valid Atom
with absolute links under the site's ``url`` and ``baseurl``."""

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path, PurePosixPath

import anyio
import pytest

from tests.conftest import require_executable
from tests.site_samples import HOSTILE, NAMES, digest, write_sample_digests
from webplatform_digest.digest.files import render_digest_file
from webplatform_digest.models import Language, ReleaseKey
from webplatform_digest.services.pages import generate_pages
from webplatform_digest.site.feeds import render_feeds
from webplatform_digest.site.model import SiteModel, build_site_model, entry_from_file
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import DirectWriter

ATOM = "{http://www.w3.org/2005/Atom}"
LIQUID_URL = re.compile(r"\{\{ '(/[^']*)' \| absolute_url \| xml_escape \}\}")
BASE = "https://example.github.io/repo"


def _as_jekyll_would(data: bytes) -> str:
    """The feed after Jekyll: front matter gone, ``absolute_url`` applied."""
    text = data.decode("utf-8").split("\n---\n", 1)[1]
    return LIQUID_URL.sub(lambda m: BASE + m[1], text)


def _model_with_hostile_title() -> SiteModel:
    """143 and 144 of every sample area in both languages, and 145's CSS with a hostile title."""
    items = [digest(a, ReleaseKey(v), lang) for v in (143, 144) for a in NAMES for lang in Language]
    hostile = digest("css", ReleaseKey(145), Language.EN, HOSTILE)
    items.append(replace(hostile, title="{{ site.title }} </title> & <b>x</b>"))
    entries = [
        entry_from_file(Workspace.digest_rel(d.area, ReleaseKey(d.version, d.channel), d.language),
                        render_digest_file(d))
        for d in items
    ]  # fmt: skip
    return build_site_model(entries, NAMES)


def _check_atom(root: ET.Element, base: str) -> list[ET.Element]:
    """Required Atom elements of the feed and of every entry; returns the entries."""
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{name}") is not None, name
    self_links = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert len(self_links) == 1
    assert self_links[0].get("href", "").startswith(base + "/")
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert (entry.findtext(f"{ATOM}{name}") or "").strip(), name
        href = entry.find(f"{ATOM}link").get("href", "")  # type: ignore[union-attr]
        assert href.startswith(base + "/"), href
        assert href.endswith(".html"), href
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry.findtext(f"{ATOM}updated") or ""
        )
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert len(ids) == len(set(ids))
    return entries


def test_each_language_and_each_area_has_a_feed_with_an_entry_per_digest() -> None:
    model = _model_with_hostile_title()
    feeds = render_feeds(model)
    assert set(feeds) == {
        PurePosixPath(p)
        for p in ["feed.xml", "zh/feed.xml"]
        + [f"{lang}areas/{area}/feed.xml" for lang in ("", "zh/") for area in NAMES]
    }
    english = _check_atom(ET.fromstring(_as_jekyll_would(feeds[PurePosixPath("feed.xml")])), BASE)
    assert len(english) == 1 + 2 * 3
    chinese = ET.fromstring(_as_jekyll_would(feeds[PurePosixPath("zh/areas/css/feed.xml")]))
    assert chinese.findtext(f"{ATOM}title") == "CSS 与 UI · Web 平台更新摘要"
    entries = _check_atom(chinese, BASE)
    assert [e.find(f"{ATOM}link").get("href") for e in entries] == [  # type: ignore[union-attr]
        f"{BASE}/zh/versions/chrome-144/css.html",
        f"{BASE}/zh/versions/chrome-143/css.html",
    ]
    assert chinese.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"


def test_a_hostile_title_is_text_in_the_feed_and_no_liquid() -> None:
    feed = render_feeds(_model_with_hostile_title())[PurePosixPath("areas/css/feed.xml")]
    body = feed.decode("utf-8").split("\n---\n", 1)[1]
    assert LIQUID_URL.sub("", body).count("{") == 0
    first = ET.fromstring(_as_jekyll_would(feed)).find(f"{ATOM}entry")
    assert first is not None
    assert first.findtext(f"{ATOM}title") == "{{ site.title }} </title> & <b>x</b>"


def test_feeds_are_the_same_bytes_for_the_same_digests() -> None:
    assert render_feeds(_model_with_hostile_title()) == render_feeds(_model_with_hostile_title())


@pytest.mark.e2e
async def test_jekyll_publishes_the_feeds_with_absolute_links_under_url_and_baseurl(
    workspace: Workspace, tmp_path: Path
) -> None:
    jekyll = require_executable("jekyll")
    write_sample_digests(workspace)
    await generate_pages(workspace, NAMES, DirectWriter(workspace))
    extra = tmp_path / "url.yml"
    extra.write_text('url: "https://example.github.io"\n', encoding="utf-8")
    source = workspace.root / Workspace.DIGESTS
    out = tmp_path / "_site"
    command = [jekyll, "build", "--safe", "--disable-disk-cache", "--source", str(source)]
    command += ["--destination", str(out), "--baseurl", "/repo"]
    command += ["--config", f"{source / '_config.yml'},{extra}"]
    await anyio.run_process(command, cwd=tmp_path)
    for rel, count in (("feed.xml", 9), ("zh/feed.xml", 9), ("areas/css/feed.xml", 3)):
        entries = _check_atom(ET.parse(out / rel).getroot(), BASE)
        assert len(entries) == count, rel
    page = (out / "zh/versions/chrome-144/css.html").read_text("utf-8")
    assert 'type="application/atom+xml"' in page
    assert 'href="/repo/zh/areas/css/feed.xml"' in page
