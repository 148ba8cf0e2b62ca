"""The standalone HTML preview of the site (pure): ``site/…/index.html`` for people without Ruby.

Digest bodies are rendered by markdown-it-py with raw HTML disabled; only ``http``, ``https`` and
``mailto`` links survive (others keep their text), images become links, and every page is a
Jinja2 template with autoescaping. Links are relative and name ``index.html`` explicitly so the
preview opens from ``file://`` as well as from any HTTP server; a Content-Security-Policy allows
no script at all. The stylesheet is inlined for the same reason.
"""

from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from webplatform_digest.models import Language
from webplatform_digest.site.jekyll import site_asset
from webplatform_digest.site.markdown import feature_anchor, safe_url
from webplatform_digest.site.model import PageKind, PageRef, SiteModel, relative_link
from webplatform_digest.site.pages import (
    HTML_LANG,
    AreaGlance,
    Link,
    PageContent,
    label,
    page_content,
)

if TYPE_CHECKING:
    # Jinja2 and markdown-it load when a preview is rendered: ``pages`` without ``--html``
    # only needs this module's paths
    from jinja2 import Template
    from markdown_it import MarkdownIt
    from markdown_it.rules_core import StateCore
    from markdown_it.token import Token

INDEX = "index.html"
_REL = "nofollow noopener noreferrer"


def _image_as_link(image: "Token") -> "list[Token]":
    from markdown_it.token import Token

    alt = Token("text", "", 0, content=image.content or str(image.attrGet("src") or ""))
    url = safe_url(str(image.attrGet("src") or ""))
    if url is None:
        return [alt]
    opening = Token("link_open", "a", 1, attrs={"href": url, "rel": _REL})
    return [opening, alt, Token("link_close", "a", -1)]


def _safe_children(children: "Sequence[Token]") -> "list[Token]":
    kept: list[Token] = []
    dropped: list[bool] = []
    for token in children:
        if token.type == "image":
            kept += _image_as_link(token)
            continue
        if token.type == "link_open":
            url = safe_url(str(token.attrGet("href") or ""))
            dropped.append(url is None)
            if url is None:
                continue
            token.attrSet("href", url)
            token.attrSet("rel", _REL)
        elif token.type == "link_close" and dropped and dropped.pop():
            continue
        kept.append(token)
    return kept


def _safe_links(state: "StateCore") -> None:
    """Core rule: drop links to anything but http(s)/mailto (text stays), images → links."""
    for token in state.tokens:
        if token.type == "inline" and token.children:
            token.children = _safe_children(token.children)


def _feature_ids(state: "StateCore") -> None:
    """Core rule: level-2 ATX headings get the ids the Jekyll site gives them (``feature-N``)."""
    count = 0
    for token in state.tokens:
        atx_h2 = token.type == "heading_open" and token.tag == "h2" and token.markup == "##"
        if atx_h2 and token.level == 0:
            count += 1
            token.attrSet("id", feature_anchor(count))


@cache
def _markdown() -> "MarkdownIt":
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = lambda url: True  # every link is parsed; _safe_links decides what stays
    md.core.ruler.push("safe_links", _safe_links)
    md.core.ruler.push("feature_ids", _feature_ids)
    return md


@lru_cache(maxsize=1024)  # a long-lived server re-renders mostly unchanged digests
def render_digest_html(markdown: str) -> str:
    """Untrusted digest markdown as safe HTML (no raw HTML, no script or data links)."""
    return _markdown().render(markdown)


@cache
def _template() -> "Template":
    from jinja2 import Environment, StrictUndefined

    environment = Environment(
        autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
    )
    return environment.from_string(site_asset("preview.html").decode("utf-8"))


@lru_cache(maxsize=16384)
def page_path(page: PageRef) -> PurePosixPath:
    """Where a page's HTML lives, relative to ``site/``."""
    return page.file(".html")


def _link(here: PageRef, link: Link) -> dict[str, str]:
    href = relative_link(here, link.target, index_file=INDEX)
    return {
        "label": link.label,
        "href": f"{href}#{link.fragment}" if link.fragment else href,
        "note": link.note,
        "lang": HTML_LANG[link.target.language],
    }


def _glance(here: PageRef, glance: AreaGlance) -> dict[str, Any]:
    return {
        "link": _link(here, glance.link),
        "count": glance.count,
        "badge": {"kind": glance.badge.kind, "label": glance.badge.label},
        "features": [_link(here, feature) for feature in glance.features],
    }


def _nav_links(here: PageRef) -> list[dict[str, str]]:
    language = here.language
    return [
        _link(here, Link(label(language, key), PageRef(kind, language)))
        for key, kind in (("releases", PageKind.VERSIONS), ("areas", PageKind.AREAS))
    ]


def _context(content: PageContent) -> dict[str, Any]:
    here, language = content.ref, content.ref.language
    body = render_digest_html(content.digest.markdown) if content.digest else ""
    badge = content.badge
    return {
        "lang": HTML_LANG[language],
        "title": content.title,
        "site_name": label(language, "site"),
        "home_href": relative_link(here, PageRef(PageKind.HOME, language), index_file=INDEX),
        "nav": _nav_links(here),
        "crumbs": [_link(here, crumb) for crumb in content.breadcrumbs],
        "switch": _link(here, content.switch) if content.switch else None,
        # every other language, on sites of three or more (two keep the single switch)
        "alternates": [_link(here, link) for link in content.alternates],
        "notice": content.notice,
        "intro": content.intro,
        "badge": {"kind": badge.kind, "label": badge.label} if badge else None,
        "meta": content.meta,
        "toc_heading": label(language, "contents"),
        "toc": [_link(here, link) for link in content.toc],
        "body": Markup(body),  # safe: markdown-it with raw HTML disabled
        "glance": [_glance(here, glance) for glance in content.glance],
        "sources_heading": label(language, "sources"),
        "sources": [{"label": s.label, "url": s.url} for s in content.sources],
        "neighbours": [_link(here, link) for link in content.neighbours],
        "sections": [
            {
                "heading": section.heading,
                "links": [_link(here, link) for link in section.links],
                "empty": section.empty,
            }
            for section in content.sections
        ],
        "css": Markup(site_asset("site.css").decode("utf-8")),  # our own stylesheet
        "footer": label(language, "footer"),
    }


def render_html_page(content: PageContent) -> bytes:
    """One page of the preview."""
    return _template().render(_context(content)).encode("utf-8")


def render_html_site(model: SiteModel, pages: Iterable[PageRef]) -> dict[PurePosixPath, bytes]:
    """The HTML of ``pages``, by path relative to ``site/``."""
    return {page_path(page): render_html_page(page_content(model, page)) for page in pages}


def preview_entry(language: Language = Language.EN) -> PurePosixPath:
    """The preview's start page, relative to ``site/``."""
    return page_path(PageRef(PageKind.HOME, language))
