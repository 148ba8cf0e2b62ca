"""What each page of the site says (pure): titles, breadcrumbs, language switch, link lists.

Both renderers (Jekyll markdown in ``site_jekyll``, the HTML preview in ``site_html``) turn a
``PageContent`` into their format, so navigation is decided once.
"""

from dataclasses import dataclass

from webplatform_digest.models import DigestStatus, Language
from webplatform_digest.site.model import (
    DigestEntry,
    PageKind,
    PageRef,
    SiteModel,
    release_label,
)

LABELS: dict[Language, dict[str, str]] = {
    Language.EN: {
        "site": "Web Platform Digest",
        "intro": "Digests of the Chrome web-platform release notes, one per focus area, "
        "in English and Chinese.",
        "home": "Home",
        "latest": "Latest release",
        "releases": "Releases",
        "versions_title": "Chrome releases",
        "areas": "Focus areas",
        "areas_in_release": "Focus areas in this release",
        "releases_of_area": "Releases with a digest of this area",
        "all_releases_of": "All releases of {name}",
        "count_areas": "{n} areas",
        "count_area": "1 area",
        "count_releases": "{n} releases",
        "count_release": "1 release",
        "other_language": "(in Chinese)",
        "switch": "中文",
        "none": "No digests yet.",
        "status_fallback": "Written without an LLM: a deterministic digest of the release notes.",
        "status_partial": "Partly written without an LLM: the marked sections repeat the "
        "release notes (or stay in English) because the model's text for them was unusable.",
        "status_error": "The digest could not be written; this page shows what is available.",
        "status_empty": "This release has no changes in this area.",
    },
    Language.ZH: {
        "site": "Web 平台更新摘要",
        "intro": "按关注领域整理的 Chrome Web 平台发布说明摘要，提供英文和中文版本。",
        "home": "首页",
        "latest": "最新版本",
        "releases": "版本",
        "versions_title": "Chrome 版本",
        "areas": "关注领域",
        "areas_in_release": "本版本的关注领域",
        "releases_of_area": "包含此领域摘要的版本",
        "all_releases_of": "{name}的所有版本",
        "count_areas": "{n} 个领域",
        "count_area": "1 个领域",
        "count_releases": "{n} 个版本",
        "count_release": "1 个版本",
        "other_language": "（英文）",
        "switch": "English",
        "none": "暂无摘要。",
        "status_fallback": "本摘要未使用 LLM，由发布说明直接生成（确定性摘要）。",
        "status_partial": "本摘要部分内容未使用 LLM：标注的小节直接取自发布说明"
        "（或保留英文原文）。",
        "status_error": "未能生成本摘要，本页显示现有内容。",
        "status_empty": "此版本在该领域没有更新。",
    },
}

#: the ``lang`` attribute of a page in each language (CJK fonts pick the right glyphs)
HTML_LANG = {Language.EN: "en", Language.ZH: "zh-CN"}


@dataclass(frozen=True, slots=True)
class Link:
    """A link to another page of the site, with an optional note after it."""

    label: str
    target: PageRef
    note: str = ""


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


def label(language: Language, key: str, **values: object) -> str:
    """A user-interface string in ``language``."""
    return LABELS[language][key].format(**values)


def _count(language: Language, singular: str, plural: str, n: int) -> str:
    return label(language, singular) if n == 1 else label(language, plural, n=n)


def _digest_link(page: PageRef, text: str, target: PageRef) -> Link:
    note = "" if target.language is page.language else label(page.language, "other_language")
    return Link(text, target, note)


def _crumbs(page: PageRef) -> tuple[Link, ...]:
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
    if page.kind is PageKind.DIGEST:
        assert page.release is not None
        release = PageRef(PageKind.VERSION, language, page.release)
        return (home, versions, Link(release_label(page.release, language), release))
    return ()


def _release_links(model: SiteModel, language: Language) -> tuple[Link, ...]:
    return tuple(
        Link(
            release_label(key, language),
            PageRef(PageKind.VERSION, language, key),
            _count(language, "count_area", "count_areas", len(model.areas_of(key))),
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
    )


def _version(model: SiteModel, page: PageRef) -> PageContent:
    assert page.release is not None
    language, key = page.language, page.release
    links: list[Link] = []
    for area in model.areas_of(key):
        target = model.digest_page(key, area.id, language)
        if target is not None:
            links.append(_digest_link(page, area.label(language), target))
    section = Section(label(language, "areas_in_release"), tuple(links), label(language, "none"))
    title = release_label(key, language)
    return PageContent(page, title, _crumbs(page), _switch(model, page), sections=(section,))


def _area(model: SiteModel, page: PageRef) -> PageContent:
    assert page.area is not None
    language, area = page.language, model.area(page.area)
    links: list[Link] = []
    for key in model.releases_of(area.id):
        target = model.digest_page(key, area.id, language)
        if target is not None:
            links.append(_digest_link(page, release_label(key, language), target))
    section = Section(label(language, "releases_of_area"), tuple(links), label(language, "none"))
    return PageContent(
        page, area.label(language), _crumbs(page), _switch(model, page), sections=(section,)
    )


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
    return PageContent(
        page,
        title,
        _crumbs(page),
        _switch(model, page),
        notice=_status_notice(entry.status, language),
        sections=(Section("", (more,)),),
        digest=entry,
    )


def _status_notice(status: DigestStatus, language: Language) -> str:
    if status is DigestStatus.FALLBACK:
        return label(language, "status_fallback")
    if status is DigestStatus.PARTIAL:
        return label(language, "status_partial")
    if status is DigestStatus.ERROR:
        return label(language, "status_error")
    if status is DigestStatus.EMPTY:
        return label(language, "status_empty")
    return ""


def _listing(model: SiteModel, page: PageRef) -> PageContent:
    language = page.language
    none = label(language, "none")
    if page.kind is PageKind.VERSIONS:
        title = label(language, "versions_title")
        section = Section("", _release_links(model, language), none)
    else:
        title = label(language, "areas")
        section = Section("", _area_links(model, language), none)
    return PageContent(page, title, _crumbs(page), _switch(model, page), sections=(section,))


def _switch(model: SiteModel, page: PageRef) -> Link | None:
    target = model.alternate(page)
    if target is None:
        return None
    return Link(label(page.language, "switch"), target)


def page_content(model: SiteModel, page: PageRef) -> PageContent:
    """What ``page`` shows."""
    if page.kind is PageKind.HOME:
        return _home(model, page)
    if page.kind is PageKind.VERSION:
        return _version(model, page)
    if page.kind is PageKind.AREA:
        return _area(model, page)
    if page.kind is PageKind.DIGEST:
        return _digest(model, page)
    return _listing(model, page)
