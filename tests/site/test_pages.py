"""What each page says: titles, breadcrumbs, language switch and link lists."""

from tests.site_samples import NAMES, digest
from webplatform_digest.digest.files import render_digest_file
from webplatform_digest.models import Channel, DigestStatus, Language, ReleaseKey
from webplatform_digest.site.model import (
    PageKind,
    PageRef,
    SiteModel,
    build_site_model,
    entry_from_file,
)
from webplatform_digest.site.pages import page_content
from webplatform_digest.storage.workspace import Workspace

KEY = ReleaseKey(144)


def _model(status: DigestStatus = DigestStatus.OK) -> SiteModel:
    items = [
        digest("css", KEY, Language.EN, status=status),
        digest("css", KEY, Language.ZH),
        digest("webgpu", KEY, Language.EN),
        digest("css", ReleaseKey(143, Channel.STABLE), Language.EN),
    ]
    entries = [
        entry_from_file(
            Workspace.digest_rel(d.area, ReleaseKey(d.version, d.channel), d.language),
            render_digest_file(d),
        )
        for d in items
    ]
    return build_site_model(entries, NAMES)


def test_home_lists_the_latest_release_all_releases_and_all_areas() -> None:
    """The landing page links the newest release first and every area, with counts."""
    content = page_content(_model(), PageRef(PageKind.HOME, Language.EN))
    latest, releases, areas = content.sections
    assert [link.label for link in latest.links] == ["Chrome 144"]
    assert [link.label for link in releases.links] == ["Chrome 144", "Chrome 143"]
    assert [(link.label, link.note) for link in areas.links] == [
        ("CSS and UI", "2 releases"),
        ("Graphics and WebGPU", "1 release"),
    ]
    assert content.switch is not None
    assert content.switch.target == PageRef(PageKind.HOME, Language.ZH)


def test_a_chinese_release_page_marks_links_to_english_only_digests() -> None:
    """Where an area has no Chinese digest, the link goes to English and says so."""
    content = page_content(_model(), PageRef(PageKind.VERSION, Language.ZH, KEY))
    links = {glance.link.label: glance.link for glance in content.glance}
    assert links["CSS 与 UI"].target.language is Language.ZH
    assert links["CSS 与 UI"].note == ""
    assert links["图形与 WebGPU"].target.language is Language.EN
    assert links["图形与 WebGPU"].note == "（英文）"
    assert content.title == "Chrome 144"


def test_a_digest_page_has_breadcrumbs_a_switch_and_its_front_matter_title() -> None:
    """Home › Releases › Chrome 144, the translation as switch, and the digest's own title."""
    page = PageRef(PageKind.DIGEST, Language.EN, KEY, "css")
    content = page_content(_model(), page)
    assert [c.label for c in content.breadcrumbs] == ["Home", "Releases", "Chrome 144"]
    assert content.switch is not None
    assert content.switch.target == page.in_language(Language.ZH)
    assert content.title == "CSS and UI — Chrome 144"
    assert content.digest is not None
    assert content.notice == ""


def test_a_fallback_digest_carries_a_notice() -> None:
    """A digest written without an LLM says so at the top."""
    page = PageRef(PageKind.DIGEST, Language.EN, KEY, "css")
    content = page_content(_model(DigestStatus.FALLBACK), page)
    assert "without an LLM" in content.notice


def test_an_area_page_lists_its_releases_newest_first() -> None:
    """The area page links each release that has a digest of the area."""
    content = page_content(_model(), PageRef(PageKind.AREA, Language.EN, area="css"))
    assert [link.label for link in content.sections[0].links] == ["Chrome 144", "Chrome 143"]
    assert [c.label for c in content.breadcrumbs] == ["Home", "Focus areas"]
