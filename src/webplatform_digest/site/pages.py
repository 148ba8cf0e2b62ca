"""What each page of the site says (pure): titles, breadcrumbs, language switch, link lists.

Both renderers (Jekyll markdown in ``site_jekyll``, the HTML preview in ``site_html``) turn a
``PageContent`` into their format, so navigation is decided once.
"""

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import PurePosixPath

from webplatform_digest.models import Channel, DigestStatus, Language, ReleaseKey
from webplatform_digest.site.history import elsewhere
from webplatform_digest.site.markdown import feature_anchor
from webplatform_digest.site.model import (
    DigestEntry,
    PageKind,
    PageRef,
    SiteModel,
    feed_path,
    release_label,
)
from webplatform_digest.site.strings import HTML_LANG as HTML_LANG  # the renderers' import
from webplatform_digest.site.strings import LABELS, label, language_name

#: digest pages with more features than this start with a table of contents
TOC_MIN_FEATURES = 4
#: the first WebGPU release note ("What's New in WebGPU")
FIRST_WEBGPU_NOTE = 113
_SOURCE_SITE = "https://developer.chrome.com"
#: front-matter status → badge; anything else gets the generic ``other`` badge
_BADGES = {
    DigestStatus.OK.value: "model",
    DigestStatus.RETRIED.value: "model",
    DigestStatus.CACHED.value: "model",
    DigestStatus.REPAIRED.value: "repaired",
    DigestStatus.PARTIAL.value: "partial",
    DigestStatus.FALLBACK.value: "fallback",
    "untranslated": "untranslated",
    "kept": "kept",
    "stale": "kept",
    DigestStatus.ERROR.value: "error",
    DigestStatus.EMPTY.value: "empty",
}
#: badge → the notice a digest page shows (one at most)
_NOTICES = {
    "fallback": "status_fallback",
    "untranslated": "status_untranslated",
    "kept": "status_kept",
    "partial": "status_partial",
    "error": "status_error",
    "empty": "status_empty",
}


@dataclass(frozen=True, slots=True)
class Link:
    """A link to another page of the site (or a section of it), with an optional note."""

    label: str
    target: PageRef
    note: str = ""
    fragment: str = ""


@dataclass(frozen=True, slots=True)
class ExternalLink:
    """A link off the site (the source release notes)."""

    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Badge:
    """How a digest was written: ``kind`` names the style, ``label`` is shown."""

    kind: str
    label: str


@dataclass(frozen=True, slots=True)
class AreaGlance:
    """One area of a release at a glance: its digest, feature count, badge and features."""

    link: Link
    count: str
    badge: Badge
    features: tuple[Link, ...]


@dataclass(frozen=True, slots=True)
class Section:
    """A heading and a list of links (``empty`` is shown when there are none)."""

    heading: str
    links: tuple[Link, ...]
    empty: str = ""


@dataclass(frozen=True, slots=True)
class PageContent:
    """One page: its title, where it sits, what it links to, and the digest it shows."""

    ref: PageRef
    title: str
    breadcrumbs: tuple[Link, ...]
    switch: Link | None
    intro: str = ""
    notice: str = ""
    sections: tuple[Section, ...] = ()
    digest: DigestEntry | None = None
    glance: tuple[AreaGlance, ...] = ()
    sources: tuple[ExternalLink, ...] = ()
    neighbours: tuple[Link, ...] = ()
    toc: tuple[Link, ...] = ()
    meta: str = ""
    badge: Badge | None = None
    feed: PurePosixPath | None = None
    #: the page in every other language (listed when the site has more than two languages)
    alternates: tuple[Link, ...] = ()


def _count(language: Language, singular: str, plural: str, n: int) -> str:
    return label(language, singular) if n == 1 else label(language, plural, n=n)


def badge_of(entry: DigestEntry, language: Language) -> Badge:
    """The badge of a digest: how it was written, in ``language``."""
    if entry.untranslated:
        kind = "untranslated"
    else:
        kind = "kept" if entry.stale else _BADGES.get(entry.status, "other")
    return Badge(kind, label(language, f"badge_{kind}", status=entry.status))


def format_date(timestamp: str, language: Language) -> str:
    """``2026-01-13`` / ``2026年1月13日`` from an RFC 3339 UTC timestamp ("" if none)."""
    if len(timestamp) < 10:
        return ""
    year, month, day = timestamp[:4], int(timestamp[5:7]), int(timestamp[8:10])
    return f"{year}年{month}月{day}日" if language is Language.ZH else timestamp[:10]


def source_links(key: ReleaseKey, language: Language) -> tuple[ExternalLink, ...]:
    """The release notes a release's digests come from, on developer.chrome.com."""
    if key.channel is Channel.BETA:
        url = f"{_SOURCE_SITE}/blog/chrome-{key.version}-beta"
        return (ExternalLink(label(language, "source_beta", version=key.version), url),)
    links = [
        ExternalLink(
            label(language, "source_stable", version=key.version),
            f"{_SOURCE_SITE}/release-notes/{key.version}",
        )
    ]
    if key.version >= FIRST_WEBGPU_NOTE:
        links.append(
            ExternalLink(
                label(language, "source_webgpu", version=key.version),
                f"{_SOURCE_SITE}/blog/new-in-webgpu-{key.version}",
            )
        )
    return tuple(links)


def _digest_link(page: PageRef, text: str, target: PageRef) -> Link:
    note = "" if target.language is page.language else label(page.language, "other_language")
    return Link(text, target, note)


def _crumbs(page: PageRef) -> tuple[Link, ...]:
    """The breadcrumbs of ``page``: shared by every page of its kind and language, and by
    release (digest pages) or area (timelines), so made once for all of them."""
    release = page.release if page.kind is PageKind.DIGEST else None
    area = page.area if page.kind is PageKind.TIMELINE else None
    return _trail(PageRef(page.kind, page.language, release, area))


@lru_cache(maxsize=4096)
def _trail(page: PageRef) -> tuple[Link, ...]:
    language = page.language
    home = Link(label(language, "home"), PageRef(PageKind.HOME, language))
    versions = Link(label(language, "releases"), PageRef(PageKind.VERSIONS, language))
    areas = Link(label(language, "areas"), PageRef(PageKind.AREAS, language))
    if page.kind in (PageKind.VERSIONS, PageKind.AREAS):
        return (home,)
    if page.kind is PageKind.VERSION:
        return (home, versions)
    if page.kind is PageKind.AREA:
        return (home, areas)
    if page.kind is PageKind.TIMELINE:
        assert page.area is not None
        area = Link(page.area, PageRef(PageKind.AREA, language, area=page.area))
        return (home, areas, area)
    if page.kind is PageKind.DIGEST:
        assert page.release is not None
        release = PageRef(PageKind.VERSION, language, page.release)
        return (home, versions, Link(release_label(page.release, language), release))
    return ()


def _listed(entry: DigestEntry) -> bool:
    """Whether a release page lists the area: it has features, or failed (not just empty)."""
    if entry.status == DigestStatus.EMPTY.value:
        return False
    return bool(entry.features) or entry.status == DigestStatus.ERROR.value


def _listed_areas(model: SiteModel, key: ReleaseKey, language: Language) -> list[DigestEntry]:
    return model.memo(("listed", key, language), lambda: _find_listed(model, key, language))


def _find_listed(model: SiteModel, key: ReleaseKey, language: Language) -> list[DigestEntry]:
    found: list[DigestEntry] = []
    for area in model.areas_of(key):
        target = model.digest_page(key, area.id, language)
        entry = target and model.digest(key, area.id, target.language)
        if entry is not None and _listed(entry):
            found.append(entry)
    return found


def _release_links(model: SiteModel, language: Language) -> tuple[Link, ...]:
    return model.memo(("releases", language), lambda: _make_release_links(model, language))


def _make_release_links(model: SiteModel, language: Language) -> tuple[Link, ...]:
    return tuple(
        Link(
            release_label(key, language),
            PageRef(PageKind.VERSION, language, key),
            _count(language, "count_area", "count_areas", len(_listed_areas(model, key, language))),
        )
        for key in model.releases
    )


def _area_links(model: SiteModel, language: Language) -> tuple[Link, ...]:
    return tuple(
        Link(
            area.label(language),
            PageRef(PageKind.AREA, language, area=area.id),
            _count(language, "count_release", "count_releases", len(model.releases_of(area.id))),
        )
        for area in model.areas
    )


def _home(model: SiteModel, page: PageRef) -> PageContent:
    language = page.language
    none = label(language, "none")
    latest = _release_links(model, language)[:1]
    return PageContent(
        page,
        label(language, "site"),
        (),
        _switch(model, page),
        intro=label(language, "intro"),
        sections=(
            Section(label(language, "latest"), latest, none),
            Section(label(language, "releases"), _release_links(model, language), none),
            Section(label(language, "areas"), _area_links(model, language), none),
        ),
        feed=feed_path(language),
    )


def _feature_links(entry: DigestEntry, target: PageRef) -> tuple[Link, ...]:
    return tuple(
        Link(title, target, fragment=feature_anchor(index))
        for index, title in enumerate(entry.features, 1)
    )


def _glance(model: SiteModel, page: PageRef, entry: DigestEntry) -> AreaGlance:
    language = page.language
    target = PageRef(PageKind.DIGEST, entry.language, entry.key, entry.area)
    count = _count(language, "count_feature", "count_features", len(entry.features))
    return AreaGlance(
        _digest_link(page, model.area(entry.area).label(language), target),
        count,
        badge_of(entry, language),
        _feature_links(entry, target),
    )


def _neighbours(model: SiteModel, page: PageRef) -> tuple[Link, ...]:
    assert page.release is not None
    language = page.language
    older, newer = model.neighbours(page.release)
    links: list[Link] = []
    if older is not None:
        release = release_label(older, language)
        links.append(Link(label(language, "older", release=release), page.with_release(older)))
    if newer is not None:
        release = release_label(newer, language)
        links.append(Link(label(language, "newer", release=release), page.with_release(newer)))
    return tuple(links)


def _version(model: SiteModel, page: PageRef) -> PageContent:
    assert page.release is not None
    language, key = page.language, page.release
    glance = tuple(_glance(model, page, entry) for entry in _listed_areas(model, key, language))
    empty = () if glance else (Section("", (), label(language, "none")),)
    return PageContent(
        page,
        release_label(key, language),
        _crumbs(page),
        _switch(model, page),
        sections=empty,
        glance=glance,
        sources=source_links(key, language),
        neighbours=_neighbours(model, page),
        feed=feed_path(language),
    )


def _area(model: SiteModel, page: PageRef) -> PageContent:
    assert page.area is not None
    language, area = page.language, model.area(page.area)
    links: list[Link] = []
    for key in model.releases_of(area.id):
        target = model.digest_page(key, area.id, language)
        entry = target and model.digest(key, area.id, target.language)
        if target is not None and entry is not None:
            link = _digest_link(page, release_label(key, language), target)
            count = _count(language, "count_feature", "count_features", len(entry.features))
            note = " · ".join(part for part in (link.note, count) if part)
            links.append(Link(link.label, link.target, note))
    section = Section(label(language, "releases_of_area"), tuple(links), label(language, "none"))
    timeline = Link(label(language, "timeline"), PageRef(PageKind.TIMELINE, language, area=area.id))
    return PageContent(
        page,
        area.label(language),
        _crumbs(page),
        _switch(model, page),
        sections=(section, Section("", (timeline,))),
        feed=feed_path(language, area.id),
    )


def _timeline(model: SiteModel, page: PageRef) -> PageContent:
    assert page.area is not None
    language, area = page.language, model.area(page.area)
    sections: list[Section] = []
    for key in model.releases_of(area.id):
        target = model.digest_page(key, area.id, language)
        entry = target and model.digest(key, area.id, target.language)
        if target is None or entry is None or not entry.features:
            continue
        links = _feature_links(entry, target)
        note = "" if target.language is language else label(language, "other_language")
        sections.append(
            Section(
                release_label(key, language),
                tuple(Link(x.label, x.target, note, x.fragment) for x in links),
            )
        )
    crumbs = _crumbs(page)
    crumbs = (*crumbs[:-1], Link(area.label(language), crumbs[-1].target))
    return PageContent(
        page,
        label(language, "timeline_of", name=area.label(language)),
        crumbs,
        _switch(model, page),
        intro=label(language, "timeline_intro"),
        sections=tuple(sections) or (Section("", (), label(language, "none")),),
        feed=feed_path(language, area.id),
    )


def _also_in(model: SiteModel, page: PageRef) -> tuple[Section, ...]:
    assert page.release is not None
    assert page.area is not None
    language = page.language
    links: list[Link] = []
    for here, other in elsewhere(model, language, page.release, page.area):
        release = release_label(other.release, language)
        stage = LABELS[language].get(f"stage_{other.area}")
        where = f"{release}（{stage}）" if stage and language is Language.ZH else (
            f"{release} ({stage})" if stage else release
        )  # fmt: skip
        target = PageRef(PageKind.DIGEST, language, other.release, other.area)
        links.append(
            Link(label(language, "seen_in", title=here.title, release=where), target,
                 fragment=feature_anchor(other.index))
        )  # fmt: skip
    return (Section(label(language, "also_in"), tuple(links)),) if links else ()


def _digest(model: SiteModel, page: PageRef) -> PageContent:
    assert page.release is not None
    assert page.area is not None
    language = page.language
    entry = model.digest(page.release, page.area, language)
    assert entry is not None
    area = model.area(page.area)
    title = entry.title or f"{area.label(language)} — {release_label(page.release, language)}"
    more = Link(
        label(language, "all_releases_of", name=area.label(language)),
        PageRef(PageKind.AREA, language, area=area.id),
    )
    badge = badge_of(entry, language)
    toc = _feature_links(entry, page) if len(entry.features) >= TOC_MIN_FEATURES else ()
    date = format_date(entry.generated_at, language)
    return PageContent(
        page,
        title,
        _crumbs(page),
        _switch(model, page),
        notice=label(language, _NOTICES[badge.kind]) if badge.kind in _NOTICES else "",
        sections=(*_also_in(model, page), Section("", (more,))),
        digest=entry,
        neighbours=(),
        toc=toc,
        meta=label(language, "written", date=date) if date else "",
        badge=badge,
        feed=feed_path(language, area.id),
    )


def _listing(model: SiteModel, page: PageRef) -> PageContent:
    language = page.language
    none = label(language, "none")
    if page.kind is PageKind.VERSIONS:
        title = label(language, "versions_title")
        section = Section("", _release_links(model, language), none)
    else:
        title = label(language, "areas")
        section = Section("", _area_links(model, language), none)
    return PageContent(
        page,
        title,
        _crumbs(page),
        _switch(model, page),
        sections=(section,),
        feed=feed_path(language),
    )


def _switch(model: SiteModel, page: PageRef) -> Link | None:
    target = model.alternate(page)
    if target is None:
        return None
    return Link(language_name(target.language), target)  # en ↔ zh: "中文" / "English" as before


def _alternates(model: SiteModel, page: PageRef) -> tuple[Link, ...]:
    """Switcher entries for a site of three or more languages (two keep the single switch)."""
    if len(model.languages) <= 2:
        return ()
    return tuple(Link(language_name(t.language), t) for t in model.alternates(page))


def page_content(model: SiteModel, page: PageRef) -> PageContent:
    """What ``page`` shows."""
    content = _page_content(model, page)
    alternates = _alternates(model, page)
    return replace(content, alternates=alternates) if alternates else content


def _page_content(model: SiteModel, page: PageRef) -> PageContent:
    if page.kind is PageKind.HOME:
        return _home(model, page)
    if page.kind is PageKind.VERSION:
        return _version(model, page)
    if page.kind is PageKind.AREA:
        return _area(model, page)
    if page.kind is PageKind.TIMELINE:
        return _timeline(model, page)
    if page.kind is PageKind.DIGEST:
        return _digest(model, page)
    return _listing(model, page)
