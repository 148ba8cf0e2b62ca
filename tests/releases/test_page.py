"""Chrome developer-site pages → release-note markdown, and listing pages → versions."""

import re
from html import escape

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.site_server import DATA_DIR, ExpectedPage, expected_pages
from webplatform_digest.errors import InputError, InvalidVersionError, ParseError
from webplatform_digest.models import Channel, Product
from webplatform_digest.releases.page import (
    MAX_BACKFILL_SPAN,
    Track,
    convert_release_page,
    find_versions,
    parse_track,
    parse_version_range,
)

SITE = "https://developer.chrome.com"
PAGES = expected_pages()


def _convert(page: ExpectedPage, base: str = SITE) -> str:
    html = (DATA_DIR / page.fixture).read_text(encoding="utf-8")
    note = convert_release_page(
        html, track=Track(page.track), version=page.version, url=base + page.path
    )
    return note.markdown


def _outside_code(markdown: str) -> str:
    """The markdown without fenced blocks, inline code spans and escaped characters."""
    prose = re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1$", "", markdown)
    prose = re.sub(r"(`+).+?\1", "", prose)
    return re.sub(r"\\.", "", prose)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.fixture)
def test_converted_pages_parse_to_the_features_of_the_page(page: ExpectedPage) -> None:
    """The release-note parser reads the converted page as the features the page holds."""
    release_notes = pytest.importorskip("webplatform_digest.releases.notes")
    track = Track(page.track)
    release = release_notes.parse_release(_convert(page), source=f"{page.fixture}")
    assert (release.product, release.version, release.channel) == (
        track.product,
        page.version,
        track.channel,
    )
    assert release.source_url == SITE + page.path
    assert release.release_date == page.release_date
    found = [(f.section, f.title, tuple(link.url for link in f.links)) for f in release.features]
    assert found == page.features_at(SITE)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.fixture)
def test_converted_pages_carry_the_header_and_keep_code_intact(page: ExpectedPage) -> None:
    """Header line, ``Source:`` line, and every fixture code line verbatim inside a fence."""
    markdown = _convert(page)
    lines = markdown.splitlines()
    assert lines[0] == f"# {Track(page.track).heading(page.version)}"
    assert lines[2] == f"Source: {SITE}{page.path}"
    for code_line in page.code:
        assert code_line in lines
    assert markdown.count("\n# ") == 0  # the header is the only H1


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.fixture)
def test_site_chrome_is_dropped(page: ExpectedPage) -> None:
    """Navigation, breadcrumbs, tooltips, feedback widgets, footers and scripts are gone."""
    markdown = _convert(page)
    for chrome in (
        "Stay organized",
        "Save and categorize",
        "Send feedback",
        "Last updated",
        "fixture page is test data",
        "Chrome for Developers",
        "devsiteReady",
        "dataLayer",
        "Helpful",
        "Upper tabs",
        "<",
    ):
        assert chrome not in _outside_code(markdown), chrome


def test_hostile_markup_leaves_only_inert_text() -> None:
    """Scripts, styles, handlers, hidden parts and unsafe links vanish; text stays escaped."""
    html = (DATA_DIR / "hostile-150.html").read_text(encoding="utf-8")
    url = f"{SITE}/release-notes/150"
    markdown = convert_release_page(html, track=Track.STABLE, version=150, url=url).markdown
    prose = _outside_code(markdown)
    for bad in (
        "javascript",
        "JaVaScRiPt",
        "data:",
        "vbscript",
        "onclick",
        "onerror",
        "onload",
        "attacker.example",
        "STYLE-TEXT",
        "NOSCRIPT-TEXT",
        "TEMPLATE-HEADING",
        "IFRAME-TEXT",
        "SVG-TEXT",
        "FORM-VALUE",
        "BUTTON-TEXT",
        "HIDDEN-TEXT",
        "INVISIBLE-TEXT",
        "IMG-ALT",
    ):
        assert bad not in markdown, bad
    assert "<" not in prose
    assert "](https://prize" not in markdown
    assert "[Tracking bug #420000001](https://issues.chromium.org/issues/420000001)" in markdown
    assert "```\n<script>kept as code</script>\n## not a heading inside code\n```" in markdown
    assert "\n\\# not a heading\n1\\. not a list\n\\- not a bullet\n" in markdown


def test_hostile_text_yields_no_links_in_the_parser() -> None:
    """Link-shaped page text does not become a link when the note is parsed."""
    release_notes = pytest.importorskip("webplatform_digest.releases.notes")
    html = (DATA_DIR / "hostile-150.html").read_text(encoding="utf-8")
    url = f"{SITE}/release-notes/150"
    markdown = convert_release_page(html, track=Track.STABLE, version=150, url=url).markdown
    release = release_notes.parse_release(markdown, source="release_notes/chrome-150.md")
    urls = [link.url for feature in release.features for link in feature.links]
    assert urls == [
        "https://issues.chromium.org/issues/420000001",
        "https://chromestatus.com/feature/5200000000000001",
    ]


def test_a_page_without_an_article_is_refused() -> None:
    """An error or interstitial page without article content is not a release note."""
    with pytest.raises(ParseError, match="no article"):
        convert_release_page(
            "<html><body><p>Sorry</p></body></html>", track=Track.STABLE, version=150, url=SITE
        )


def test_a_page_cut_off_inside_the_article_is_refused() -> None:
    """A download that ends mid-article is reported, not converted into a partial note."""
    html = (DATA_DIR / "release-notes-150.html").read_text(encoding="utf-8")
    cut = html[: html.index("Web APIs</h2>")]
    with pytest.raises(ParseError, match="truncated"):
        convert_release_page(cut, track=Track.STABLE, version=150, url=SITE)


def test_a_page_about_another_version_is_refused() -> None:
    """A redirect to a different release (or the index) must not be stored as this version."""
    html = (DATA_DIR / "release-notes-150.html").read_text(encoding="utf-8")
    with pytest.raises(ParseError, match="does not name version 151"):
        convert_release_page(html, track=Track.STABLE, version=151, url=SITE)


def test_an_article_without_headings_is_refused() -> None:
    """Headings are what the parser splits on; an article without any is not a note."""
    html = "<article><h1>Chrome 150</h1><p>Nothing here yet.</p></article>"
    with pytest.raises(ParseError, match="no section headings"):
        convert_release_page(html, track=Track.STABLE, version=150, url=SITE)


def test_the_title_falls_back_to_the_document_title() -> None:
    """Without an ``<h1>``, the first segment of ``<title>`` names the page."""
    html = "<title>Chrome 150 | Release notes</title><article><h2>CSS</h2></article>"
    note = convert_release_page(html, track=Track.STABLE, version=150, url=SITE)
    assert note.title == "Chrome 150"
    assert note.headings == ((2, "CSS"),)


def test_feature_counts_follow_the_parser_conventions() -> None:
    """Chrome features are H3s; WebGPU features are H2s, not counting the history section."""
    counts = {}
    for page in PAGES:
        html = (DATA_DIR / page.fixture).read_text(encoding="utf-8")
        track = Track(page.track)
        note = convert_release_page(html, track=track, version=page.version, url=SITE + page.path)
        counts[page.fixture] = (note.feature_count, note.section_count)
    assert counts == {
        "release-notes-150.html": (6, 4),
        "blog-chrome-151-beta.html": (6, 4),
        "blog-new-in-webgpu-150.html": (3, 4),
    }


def test_listing_pages_yield_versions_on_the_same_host_only() -> None:
    """Links to notes of the track count; other hosts, other paths and other tracks do not."""
    index = (DATA_DIR / "release-notes-index.html").read_text(encoding="utf-8")
    blog = (DATA_DIR / "blog-index.html").read_text(encoding="utf-8")
    assert find_versions(index, Track.STABLE, f"{SITE}/release-notes") == (147, 148, 149, 150)
    assert find_versions(blog, Track.BETA, f"{SITE}/blog") == (150, 151)
    assert find_versions(blog, Track.WEBGPU, f"{SITE}/blog") == (149, 150)
    assert find_versions(blog, Track.STABLE, f"{SITE}/blog") == ()


def test_tracks_know_their_product_channel_and_paths() -> None:
    """Each track maps to its page path, listing and header."""
    assert Track.STABLE.page_path(144) == "/release-notes/144"
    assert Track.BETA.page_path(145) == "/blog/chrome-145-beta"
    assert Track.WEBGPU.page_path(144) == "/blog/new-in-webgpu-144"
    assert (Track.BETA.product, Track.BETA.channel) == (Product.CHROME, Channel.BETA)
    assert (Track.WEBGPU.product, Track.WEBGPU.channel) == (Product.WEBGPU, Channel.STABLE)
    assert Track.BETA.heading(145) == "Chrome 145 Release Notes (Beta)"
    assert Track.WEBGPU.heading(144) == "WebGPU 144 Release Notes"
    assert Track.STABLE.version_in_path("/release-notes/0") is None


def test_track_and_range_arguments_are_validated() -> None:
    """Unknown channels, reversed or oversized ranges and junk versions are input errors."""
    assert parse_track(" Beta ") is Track.BETA
    with pytest.raises(InvalidVersionError):
        parse_track("canary")
    assert parse_version_range("130-144") == (130, 144)
    assert parse_version_range("144") == (144, 144)
    for bad in ("144-130", "1-999", "a-b", "130-", "-5", "13x"):
        with pytest.raises(InputError):
            parse_version_range(bad)
    assert MAX_BACKFILL_SPAN == 200


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_any_paragraph_text_survives_as_text(text: str) -> None:
    """Whatever a paragraph says, the feature keeps it as text and gains no link from it."""
    release_notes = pytest.importorskip("webplatform_digest.releases.notes")
    html = f"<article><h1>Chrome 150</h1><h2>S</h2><h3>F</h3><p>{escape(text)}</p></article>"
    markdown = convert_release_page(html, track=Track.STABLE, version=150, url=SITE).markdown
    release = release_notes.parse_release(markdown, source="release_notes/chrome-150.md")
    assert [f.title for f in release.features] == ["F"]
    assert release.features[0].links == ()
