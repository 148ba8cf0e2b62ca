"""Chrome developer-site pages → release-note markdown; listing pages → versions (pure).

The site (DevSite) wraps every page in the same chrome: a header, a book navigation, breadcrumbs,
an ``<h1 class="devsite-page-title">`` carrying a bookmark tooltip, a table of contents, the
article itself in ``<div class="devsite-article-body">``, then rating widgets, a licence footer
and analytics scripts. Only the article body is converted; everything else is dropped, as is
anything that could execute or smuggle markup (scripts, styles, event handlers, ``javascript:``
links, raw HTML). The markdown starts with the header the release-note parser reads::

    # Chrome 144 Release Notes (Stable)

    Source: https://developer.chrome.com/release-notes/144
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urljoin, urlsplit

from webplatform_digest.errors import InputError, InvalidVersionError, ParseError
from webplatform_digest.models import Channel, Product, parse_version
from webplatform_digest.releases.html_markdown import MarkdownRenderer
from webplatform_digest.releases.html_tree import (
    Element,
    classes,
    find_first,
    iter_elements,
    parse_html,
    plain_text,
)

#: the widest range one backfill may cover
MAX_BACKFILL_SPAN = 200

_WEBGPU_HISTORY = ("what's new in webgpu", "what’s new in webgpu")
_TOOLTIP_NOISE = re.compile(
    r"\s*(Stay organized with collections|Save and categorize content based on your preferences\.)"
)


class Track(StrEnum):
    """Which publication a release note comes from: Chrome stable, Chrome beta, or WebGPU."""

    STABLE = "stable"
    BETA = "beta"
    WEBGPU = "webgpu"

    @property
    def product(self) -> Product:
        """Chrome or WebGPU."""
        return Product.WEBGPU if self is Track.WEBGPU else Product.CHROME

    @property
    def channel(self) -> Channel:
        """The Chrome channel (WebGPU posts accompany stable releases)."""
        return Channel.BETA if self is Track.BETA else Channel.STABLE

    @property
    def listing_path(self) -> str:
        """Site path of the page that links to every note of this track."""
        return "/release-notes" if self is Track.STABLE else "/blog"

    def page_path(self, version: int) -> str:
        """Site path of one note: ``/release-notes/144``, ``/blog/chrome-144-beta``, ..."""
        if self is Track.STABLE:
            return f"/release-notes/{version}"
        if self is Track.BETA:
            return f"/blog/chrome-{version}-beta"
        return f"/blog/new-in-webgpu-{version}"

    def heading(self, version: int) -> str:
        """First line of the converted markdown."""
        if self is Track.WEBGPU:
            return f"WebGPU {version} Release Notes"
        return f"Chrome {version} Release Notes ({self.value.capitalize()})"

    def version_in_path(self, path: str) -> int | None:
        """The milestone a site path points at, if it is a note of this track."""
        match = _PATH_PATTERNS[self].fullmatch(path.rstrip("/") or "/")
        if match is None:
            return None
        number = int(match.group(1))
        return number if number >= 1 else None


_PATH_PATTERNS = {
    Track.STABLE: re.compile(r"/release-notes/([0-9]{1,3})"),
    Track.BETA: re.compile(r"/blog/chrome-([0-9]{1,3})-beta"),
    Track.WEBGPU: re.compile(r"/blog/new-in-webgpu-([0-9]{1,3})"),
}


def parse_track(value: object) -> Track:
    """Validate a track name (``stable``, ``beta`` or ``webgpu``).

    Raises:
        InvalidVersionError: any other value.
    """
    if isinstance(value, Track):
        return value
    if isinstance(value, str):
        try:
            return Track(value.strip().lower())
        except ValueError:
            pass
    valid = ", ".join(t.value for t in Track)
    raise InvalidVersionError(f"channel must be one of {valid}, got {str(value)[:40]!r}")


def parse_version_range(value: str) -> tuple[int, int]:
    """Parse ``130-144`` (or a single ``144``) into an inclusive, validated range.

    Raises:
        InputError: malformed, reversed, or wider than ``MAX_BACKFILL_SPAN`` versions.
    """
    text = value.strip()
    low_text, sep, high_text = text.partition("-")
    low = parse_version(low_text)
    high = parse_version(high_text) if sep else low
    if high < low:
        raise InputError(f"version range {text[:40]!r} is reversed; write it low-high")
    if high - low + 1 > MAX_BACKFILL_SPAN:
        raise InputError(f"version range {text[:40]!r} spans more than {MAX_BACKFILL_SPAN}")
    return low, high


@dataclass(frozen=True, slots=True)
class ConvertedNote:
    """A page converted to release-note markdown."""

    track: Track
    version: int
    title: str
    markdown: str
    headings: tuple[tuple[int, str], ...]

    @property
    def feature_count(self) -> int:
        """Feature headings: H3s in Chrome notes, H2s in WebGPU posts (not the history list)."""
        level = 2 if self.track is Track.WEBGPU else 3
        return sum(
            1
            for lvl, text in self.headings
            if lvl == level and not text.lower().startswith(_WEBGPU_HISTORY)
        )

    @property
    def section_count(self) -> int:
        """H2 sections."""
        return sum(1 for lvl, _ in self.headings if lvl == 2)


def convert_release_page(html: str, *, track: Track, version: int, url: str) -> ConvertedNote:
    """Convert a release-note page to our markdown (header, then the article only).

    Raises:
        ParseError: no article, article cut off (truncated download), title naming another
            version, or an article without any heading.
    """
    root = parse_html(html)
    body = _article_body(root)
    if body is None:
        raise ParseError("no article content found in the page", source=url)
    if not body.closed:
        raise ParseError("the page ends inside the article (truncated download)", source=url)
    title_el = _title_element(root, body)
    title = _title_text(root, title_el)
    if not re.search(rf"(?<![0-9]){version}(?![0-9])", title):
        raise ParseError(f"page title {title[:80]!r} does not name version {version}", source=url)
    renderer = MarkdownRenderer(url, skip=title_el)
    blocks = renderer.blocks(body)
    if not renderer.headings:
        raise ParseError("the article has no section headings", source=url)
    markdown = "\n\n".join([f"# {track.heading(version)}", f"Source: {url}", *blocks]) + "\n"
    return ConvertedNote(track, version, title, markdown, tuple(renderer.headings))


def find_versions(html: str, track: Track, page_url: str) -> tuple[int, ...]:
    """Milestones of ``track`` linked from a listing page on the same host, ascending."""
    host = urlsplit(page_url).netloc.lower()
    found: set[int] = set()
    for element in iter_elements(parse_html(html)):
        href = element.attrs.get("href") if element.tag == "a" else None
        if not href:
            continue
        parts = urlsplit(urljoin(page_url, href.strip()))
        if parts.scheme in ("http", "https") and parts.netloc.lower() == host:
            version = track.version_in_path(parts.path)
            if version is not None:
                found.add(version)
    return tuple(sorted(found))


def _article_body(root: Element) -> Element | None:
    predicates: tuple[Callable[[Element], bool], ...] = (
        lambda e: "devsite-article-body" in classes(e),
        lambda e: e.tag == "article",
        lambda e: e.tag == "main",
    )
    for predicate in predicates:
        found = find_first(root, predicate)
        if found is not None:
            return found
    return None


def _title_element(root: Element, body: Element) -> Element | None:
    return find_first(
        root, lambda e: e.tag == "h1" and "devsite-page-title" in classes(e)
    ) or find_first(body, lambda e: e.tag == "h1")


def _title_text(root: Element, title_el: Element | None) -> str:
    text = plain_text(title_el) if title_el is not None else ""
    if not text:
        head_title = find_first(root, lambda e: e.tag == "title", opaque=frozenset())
        text = plain_text(head_title, keep_dropped=True).split("|")[0] if head_title else ""
    return " ".join(_TOOLTIP_NOISE.sub(" ", text).split())
