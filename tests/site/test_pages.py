"""What each page says: titles, breadcrumbs, language switch and link lists."""

from dataclasses import replace

from tests.digest_samples import sample_subjects
from tests.site_samples import NAMES, digest
from webplatform_digest.digest.files import render_digest_file
from webplatform_digest.digest.prompts import fallback_chinese, fallback_english
from webplatform_digest.models import AreaDigest, Channel, DigestStatus, Language, ReleaseKey
from webplatform_digest.site.model import (
    DigestEntry,
    PageKind,
    PageRef,
    SiteModel,
    build_site_model,
    entry_from_file,
)
from webplatform_digest.site.pages import Badge, page_content
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


def test_a_partial_digest_says_which_sections_are_not_the_models() -> None:
    """Partial pages point at the marked sections; repaired ones need no notice."""
    page = PageRef(PageKind.DIGEST, Language.EN, KEY, "css")
    assert "marked sections" in page_content(_model(DigestStatus.PARTIAL), page).notice
    assert page_content(_model(DigestStatus.REPAIRED), page).notice == ""


def test_an_area_page_lists_its_releases_newest_first() -> None:
    """The area page links each release that has a digest of the area."""
    content = page_content(_model(), PageRef(PageKind.AREA, Language.EN, area="css"))
    assert [link.label for link in content.sections[0].links] == ["Chrome 144", "Chrome 143"]
    assert [c.label for c in content.breadcrumbs] == ["Home", "Focus areas"]


def _entry(item: AreaDigest, *, status: str | None = None) -> DigestEntry:
    data = render_digest_file(item)
    if status is not None:  # a status written by a newer digest run
        data = data.replace(b"status: ok", f"status: {status}".encode())
    rel = Workspace.digest_rel(item.area, ReleaseKey(item.version, item.channel), item.language)
    return entry_from_file(rel, data)


FEATURES = "## One\n\nText.\n\n## Two `code`\n\n```js\n## not a feature\n```\n"


def test_a_release_page_lists_each_non_empty_area_with_features_counts_and_badges() -> None:
    """Feature titles link to their sections; empty areas are left out; sources are linked."""
    entries = [
        _entry(digest("css", KEY, Language.EN, FEATURES)),
        _entry(digest("javascript", KEY, Language.EN, "Nothing.\n", DigestStatus.EMPTY)),
        _entry(digest("webgpu", KEY, Language.EN, "## Only\n"), status="partial"),
    ]
    model = build_site_model(entries, NAMES)
    content = page_content(model, PageRef(PageKind.VERSION, Language.EN, KEY))
    assert [(g.link.label, g.count, g.badge) for g in content.glance] == [
        ("CSS and UI", "2 features", Badge("model", "model")),
        ("Graphics and WebGPU", "1 feature", Badge("partial", "partial")),
    ]
    one, two = content.glance[0].features
    assert (one.label, one.fragment, two.label, two.fragment) == (
        "One",
        "feature-1",
        "Two code",
        "feature-2",
    )
    assert one.target == PageRef(PageKind.DIGEST, Language.EN, KEY, "css")
    assert [s.url for s in content.sources] == [
        "https://developer.chrome.com/release-notes/144",
        "https://developer.chrome.com/blog/new-in-webgpu-144",
    ]


def test_any_status_gets_a_badge_and_unknown_ones_a_generic_one() -> None:
    """repaired/partial/kept from newer runs render; a status nobody knows is shown as is."""
    badges = {
        status: page_content(
            build_site_model([_entry(digest("css", KEY, Language.ZH), status=status)], NAMES),
            PageRef(PageKind.VERSION, Language.ZH, KEY),
        )
        .glance[0]
        .badge
        for status in ("ok", "repaired", "kept", "fallback", "brand-new")
    }
    assert badges == {
        "ok": Badge("model", "模型撰写"),
        "repaired": Badge("repaired", "已修复"),
        "kept": Badge("kept", "沿用旧版"),
        "fallback": Badge("fallback", "离线生成"),
        "brand-new": Badge("other", "状态：brand-new"),
    }


def test_a_stale_kept_digest_says_so_in_its_badge_and_notice() -> None:
    """A model digest kept after its area data changed keeps the model's text, marked."""
    item = replace(digest("css", KEY, Language.EN, FEATURES), stale=True)
    model = build_site_model([_entry(item)], NAMES)
    content = page_content(model, PageRef(PageKind.DIGEST, Language.EN, KEY, "css"))
    assert content.badge == Badge("kept", "kept (stale)")
    assert content.notice.startswith("Kept from an earlier run")
    assert content.digest is not None
    assert "## One" in content.digest.markdown


def test_release_pages_link_the_previous_and_next_release() -> None:
    model = _model()
    newest = page_content(model, PageRef(PageKind.VERSION, Language.EN, KEY))
    oldest = page_content(model, PageRef(PageKind.VERSION, Language.ZH, ReleaseKey(143)))
    assert [(link.label, link.target.release) for link in newest.neighbours] == [
        ("← Chrome 143", ReleaseKey(143))
    ]
    assert [(link.label, link.target.language) for link in oldest.neighbours] == [
        ("Chrome 144 →", Language.ZH)
    ]


def test_a_digest_with_more_than_three_features_has_a_table_of_contents() -> None:
    four = "".join(f"## Feature {n}\n\nText.\n\n" for n in range(1, 5))
    model = build_site_model(
        [
            _entry(digest("css", KEY, Language.EN, four)),
            _entry(digest("webgpu", KEY, Language.EN, FEATURES)),
        ],
        NAMES,
    )
    long = page_content(model, PageRef(PageKind.DIGEST, Language.EN, KEY, "css"))
    short = page_content(model, PageRef(PageKind.DIGEST, Language.EN, KEY, "webgpu"))
    assert [(link.label, link.fragment) for link in long.toc][-1] == ("Feature 4", "feature-4")
    assert short.toc == ()


def test_an_untranslated_page_shows_one_notice_in_chinese() -> None:
    """The fallback's banner and offline note leave the body; the page says it once."""
    english = fallback_english(sample_subjects()[0])
    item = digest("css", KEY, Language.ZH, fallback_chinese(english), DigestStatus.FALLBACK)
    content = page_content(
        build_site_model([_entry(item)], NAMES), PageRef(PageKind.DIGEST, Language.ZH, KEY, "css")
    )
    assert content.notice.startswith("未翻译")
    assert content.digest is not None
    assert "未翻译" not in content.digest.markdown
    assert "LLM" not in content.digest.markdown.split("\n\n")[0]
    assert content.badge == Badge("untranslated", "未翻译")
    assert content.meta == "生成于 2026年1月13日"


def _history_model() -> SiteModel:
    """A ChromeStatus entry as an origin trial in 142 and shipped in CSS in 144."""
    status = "https://chromestatus.com/feature/5110223547269120"
    trial = f"## Widgets trial\n\nTry it. [ChromeStatus]({status})\n"
    shipped = f"## Intro\n\nNo link.\n\n## Widgets\n\nShipped. [entry]({status})\n"
    items = [
        digest("origin-trials", ReleaseKey(142), Language.EN, trial),
        digest("css", KEY, Language.EN, shipped),
        digest("css", ReleaseKey(143), Language.EN, "## Unrelated\n"),
    ]
    return build_site_model([_entry(item) for item in items], NAMES)


def test_a_feature_says_where_else_its_chromestatus_entry_appears() -> None:
    """ "Widgets — Chrome 142 (origin trial)", linked to that release's section."""
    content = page_content(_history_model(), PageRef(PageKind.DIGEST, Language.EN, KEY, "css"))
    also = next(s for s in content.sections if s.heading == "In other releases")
    [link] = also.links
    assert link.label == "Widgets — Chrome 142 (origin trial)"
    assert (link.target.release, link.target.area, link.fragment) == (
        ReleaseKey(142),
        "origin-trials",
        "feature-1",
    )
    unrelated = page_content(
        _history_model(), PageRef(PageKind.DIGEST, Language.EN, ReleaseKey(143), "css")
    )
    assert all(s.heading != "In other releases" for s in unrelated.sections)


def test_an_area_timeline_lists_its_features_release_by_release() -> None:
    content = page_content(_history_model(), PageRef(PageKind.TIMELINE, Language.ZH, area="css"))
    assert content.title == "CSS 与 UI：时间线"
    assert [(s.heading, [link.label for link in s.links]) for s in content.sections] == [
        ("Chrome 144", ["Intro", "Widgets"]),
        ("Chrome 143", ["Unrelated"]),
    ]
    assert content.sections[0].links[1].fragment == "feature-2"
    assert content.sections[0].links[1].note == "（英文）"
    assert [c.label for c in content.breadcrumbs] == ["首页", "关注领域", "CSS 与 UI"]


def test_a_switch_names_the_language_it_leads_to() -> None:
    """On an English + Japanese site the switch says 日本語 (and English back), never 中文."""
    japanese = Language("ja")
    items = [digest("css", KEY, Language.EN), digest("css", KEY, japanese)]
    entries = [
        entry_from_file(Workspace.digest_rel(d.area, KEY, d.language), render_digest_file(d))
        for d in items
    ]
    model = build_site_model(entries, NAMES)
    english = page_content(model, PageRef(PageKind.DIGEST, Language.EN, KEY, "css"))
    assert english.switch is not None
    assert english.switch.label == "日本語"
    back = page_content(model, PageRef(PageKind.DIGEST, japanese, KEY, "css"))
    assert back.switch is not None
    assert back.switch.label == "English"
    assert back.title.endswith("Chrome 144")
    assert page_content(model, PageRef(PageKind.HOME, japanese)).intro.startswith("Chrome の")
