"""The site model: digests on disk → releases × areas × languages, pages and relative links."""

from dataclasses import replace
from pathlib import PurePosixPath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.site_samples import NAMES, digest
from webplatform_digest.digest.files import parse_digest_file, render_digest_file
from webplatform_digest.digest.profiles import profile
from webplatform_digest.digest.prompts import OFFLINE_NOTE, UNTRANSLATED_BANNER
from webplatform_digest.errors import ParseError
from webplatform_digest.models import Channel, DigestStatus, FocusArea, Language, ReleaseKey
from webplatform_digest.site.html import page_path as html_page_path
from webplatform_digest.site.jekyll import page_path as jekyll_page_path
from webplatform_digest.site.model import (
    DigestEntry,
    PageKind,
    PageRef,
    SiteModel,
    area_names,
    build_site_model,
    entry_from_file,
    feed_path,
    quick_digest,
    relative_link,
    release_label,
)
from webplatform_digest.storage.workspace import Workspace

BETA = ReleaseKey(144, Channel.BETA)


def entry(
    area: str, key: ReleaseKey, language: Language, markdown: str | None = None
) -> DigestEntry:
    """A digest entry as the scanner would read it (with body ``markdown`` if given)."""
    rel = Workspace.digest_rel(area, key, language)
    written = digest(area, key, language)
    if markdown is not None:
        written = replace(written, markdown=markdown)
    return entry_from_file(rel, render_digest_file(written))


def model_of(*items: tuple[str, ReleaseKey, Language]) -> SiteModel:
    """A model of the given (area, release, language) digests with the sample names."""
    return build_site_model([entry(*item) for item in items], NAMES)


def test_entry_from_file_reads_front_matter_title_and_body() -> None:
    """The title comes from the front matter; the key from the file name."""
    found = entry("css", BETA, Language.ZH)
    assert found.key == BETA
    assert found.language is Language.ZH
    assert found.title == "CSS 与 UI — Chrome 144"
    assert "开发者" in found.markdown


@pytest.mark.parametrize(
    "rel",
    [
        "digest_markdown/areas/css/chrome-144-fr.md",
        "digest_markdown/areas/css/index.md",
        "digest_markdown/areas/CSS/chrome-144-en.md",
    ],
)
def test_entry_from_file_rejects_names_that_are_not_digests(rel: str) -> None:
    """Only ``chrome-<v>[-beta]-<en|zh>.md`` in a valid area folder is a digest."""
    data = render_digest_file(digest("css", ReleaseKey(144), Language.EN))
    with pytest.raises(ParseError):
        entry_from_file(PurePosixPath(rel), data)


def test_entry_from_file_rejects_front_matter_that_contradicts_the_path() -> None:
    """A digest of javascript stored in the css folder is refused, not shown under css."""
    data = render_digest_file(digest("javascript", ReleaseKey(144), Language.EN))
    with pytest.raises(ParseError, match="does not match"):
        entry_from_file(Workspace.digest_rel("css", ReleaseKey(144), Language.EN), data)


def test_releases_are_newest_first_with_stable_before_beta() -> None:
    """Release order: version descending; for one version the stable notes come first."""
    model = model_of(
        ("css", ReleaseKey(143), Language.EN),
        ("css", BETA, Language.EN),
        ("css", ReleaseKey(144), Language.EN),
    )
    assert model.releases == (ReleaseKey(144), BETA, ReleaseKey(143))


def test_areas_follow_the_catalogue_and_unknown_areas_come_last_named_by_id() -> None:
    """Catalogue order first; an area missing from the catalogue still shows, by its id."""
    model = model_of(
        ("zeta", ReleaseKey(144), Language.EN),
        ("webgpu", ReleaseKey(144), Language.EN),
        ("css", ReleaseKey(144), Language.EN),
    )
    assert [a.id for a in model.areas] == ["css", "webgpu", "zeta"]
    assert model.area("zeta").label(Language.ZH) == "zeta"
    assert model.area("webgpu").label(Language.ZH) == "图形与 WebGPU"


def test_site_languages_always_include_english() -> None:
    """A Chinese-only site still has its English navigation at the root."""
    model = model_of(("css", ReleaseKey(144), Language.ZH))
    assert model.languages == (Language.EN, Language.ZH)
    assert build_site_model([], NAMES).languages == (Language.EN,)


def test_pages_cover_navigation_in_every_language_and_each_digest() -> None:
    """Home, lists, releases, areas and area timelines per language; one page per digest."""
    model = model_of(("css", ReleaseKey(144), Language.EN), ("css", ReleaseKey(144), Language.ZH))
    kinds = [(p.kind, p.language) for p in model.pages()]
    assert len(kinds) == 14
    assert kinds.count((PageKind.TIMELINE, Language.ZH)) == 1
    assert kinds.count((PageKind.DIGEST, Language.ZH)) == 1
    assert (PageKind.HOME, Language.ZH) in kinds


@pytest.mark.parametrize(
    ("page", "directory"),
    [
        (PageRef(PageKind.HOME, Language.EN), "."),
        (PageRef(PageKind.HOME, Language.ZH), "zh"),
        (PageRef(PageKind.VERSIONS, Language.EN), "versions"),
        (PageRef(PageKind.VERSION, Language.EN, BETA), "versions/chrome-144-beta"),
        (PageRef(PageKind.DIGEST, Language.ZH, BETA, "css"), "zh/versions/chrome-144-beta"),
        (PageRef(PageKind.AREAS, Language.EN), "areas"),
        (PageRef(PageKind.AREA, Language.ZH, area="css"), "zh/areas/css"),
    ],
)
def test_each_page_kind_has_its_directory(page: PageRef, directory: str) -> None:
    """The documented layout: English at the root, Chinese under zh/."""
    assert str(page.directory) == directory


def test_relative_links_between_pages_work_with_and_without_index_files() -> None:
    """Folder links for Jekyll, explicit index.html for file:// viewing; digests by file."""
    home = PageRef(PageKind.HOME, Language.EN)
    digest_page = PageRef(PageKind.DIGEST, Language.EN, ReleaseKey(144), "css")
    zh_area = PageRef(PageKind.AREA, Language.ZH, area="css")
    assert relative_link(home, home) == "./"
    assert relative_link(home, home, index_file="index.html") == "index.html"
    assert relative_link(digest_page, home) == "../../"
    assert relative_link(digest_page, zh_area) == "../../zh/areas/css/"
    assert relative_link(home, digest_page, index_file="x.html") == "versions/chrome-144/css.html"
    assert relative_link(digest_page, digest_page) == "css.html"
    version = PageRef(PageKind.VERSION, Language.EN, ReleaseKey(144))
    assert relative_link(digest_page, version) == "./"
    assert relative_link(digest_page, version, index_file="index.html") == "index.html"


def test_a_missing_translation_falls_back_to_the_other_language() -> None:
    """Links go to the English page when no Chinese one exists; the switch goes to the release."""
    model = model_of(
        ("css", ReleaseKey(144), Language.EN), ("javascript", ReleaseKey(144), Language.ZH)
    )
    page = model.digest_page(ReleaseKey(144), "css", Language.ZH)
    assert page == PageRef(PageKind.DIGEST, Language.EN, ReleaseKey(144), "css")
    switch = model.alternate(PageRef(PageKind.DIGEST, Language.EN, ReleaseKey(144), "css"))
    assert switch == PageRef(PageKind.VERSION, Language.ZH, ReleaseKey(144))
    assert model.alternate(PageRef(PageKind.AREAS, Language.ZH)) == PageRef(
        PageKind.AREAS, Language.EN
    )


def test_area_names_come_from_a_mapping_or_a_catalogue_object() -> None:
    """A FocusAreaManager-like object with ``areas`` gives the same names as a mapping."""

    class Catalogue:
        areas = (FocusArea("css", "CSS and UI", "CSS 与 UI", "styles"),)

    assert area_names(Catalogue()) == {"css": ("CSS and UI", "CSS 与 UI")}
    assert area_names({"css": ("CSS and UI", "CSS 与 UI")}) == area_names(Catalogue())


def test_release_labels_name_beta_channels() -> None:
    """Beta releases are labelled as such in both languages."""
    assert release_label(ReleaseKey(144), Language.ZH) == "Chrome 144"
    assert release_label(BETA, Language.EN) == "Chrome 144 Beta"
    assert release_label(BETA, Language.ZH) == "Chrome 144 Beta 版"


@settings(max_examples=400, deadline=None)
@given(
    st.text(max_size=40),
    st.sampled_from(["ok", "fallback", "empty"]),
    st.sampled_from(["", "sha256:0123456789abcdef", "sha256:1000000000000000"]),
    st.booleans(),
)
def test_the_quick_front_matter_reader_agrees_with_the_yaml_reader(
    title: str, status: str, input_hash: str, stale: bool
) -> None:
    """Whatever the title, the site reads a digest exactly as ``parse_digest_file`` does (or
    leaves it to it)."""
    item = replace(
        digest("css", ReleaseKey(144), Language.EN),
        title=title,
        status=DigestStatus(status),
        input_hash=input_hash,
        stale=stale,
    )
    data = render_digest_file(item)
    quick = quick_digest(data, "t")
    assert quick is None or quick == parse_digest_file(data)


def test_the_quick_reader_reads_the_input_hash_and_the_stale_mark_itself() -> None:
    """A kept, stale model digest stays on the fast path (the site reads hundreds of them)."""
    item = replace(
        digest("css", ReleaseKey(144), Language.EN), input_hash="sha256:00ff", stale=True
    )
    quick = quick_digest(render_digest_file(item), "t")
    assert quick is not None
    assert (quick.input_hash, quick.stale) == ("sha256:00ff", True)


def test_an_unknown_status_is_kept_and_the_page_is_not_dropped() -> None:
    """A status a newer digest run writes is read as written, not refused."""
    data = render_digest_file(digest("css", ReleaseKey(144), Language.EN))
    found = entry_from_file(Workspace.digest_rel("css", ReleaseKey(144), Language.EN),
                            data.replace(b"status: ok", b"status: repaired"))  # fmt: skip
    assert found.status == "repaired"


JA, TW = Language("ja"), Language("zh-TW")


def test_every_language_but_english_has_a_tree_named_by_its_code() -> None:
    """zh keeps zh/; zh-TW and ja get theirs; feeds follow the same trees."""
    key = ReleaseKey(144)
    assert PageRef(PageKind.DIGEST, TW, key, "css").directory == PurePosixPath(
        "zh-TW/versions/chrome-144"
    )
    assert PageRef(PageKind.HOME, Language.ZH).directory == PurePosixPath("zh")
    assert PageRef(PageKind.HOME, Language.EN).directory == PurePosixPath(".")
    assert feed_path(JA, "css") == PurePosixPath("ja/areas/css/feed.xml")


def test_a_page_has_an_alternate_in_every_other_language_and_missing_digests_fall_back() -> None:
    """English first, Chinese next, then by code; a missing ja digest points at ja's release."""
    key = ReleaseKey(144)
    entries = [entry("css", key, lang) for lang in (Language.EN, TW, Language.ZH)]
    model = build_site_model(entries, area_names(NAMES), (JA,))
    assert model.languages == (Language.EN, Language.ZH, JA, TW)
    page = PageRef(PageKind.DIGEST, Language.EN, key, "css")
    assert model.alternates(page) == (
        PageRef(PageKind.DIGEST, Language.ZH, key, "css"),
        PageRef(PageKind.VERSION, JA, key),
        PageRef(PageKind.DIGEST, TW, key, "css"),
    )
    assert model.digest_page(key, "css", JA) == PageRef(PageKind.DIGEST, Language.EN, key, "css")


def test_a_digest_in_a_language_without_a_data_file_is_skipped_with_a_reason() -> None:
    """fr has no data file: the site refuses the file rather than invent a tree for it."""
    rel = PurePosixPath("digest_markdown/areas/css/chrome-144-fr.md")
    with pytest.raises(ParseError, match="no data file for language 'fr'"):
        entry_from_file(rel, b"---\nlanguage: fr\n---\n")


def test_a_digest_loses_the_banner_and_offline_note_of_its_own_language() -> None:
    """A Japanese fallback's banner and note leave the body and mark it untranslated; the
    Chinese banner and the English note are recognised in any language."""
    fallback = profile(JA).fallback
    body = f"{fallback['banner']}\n\n{fallback['offline_note']}\n\n## 機能\n\n本文。\n"
    found = entry("css", ReleaseKey(144), JA, body)
    assert found.untranslated
    assert found.markdown.startswith("## 機能")
    english = f"{UNTRANSLATED_BANNER}\n\n{OFFLINE_NOTE}\n\n## Feature\n\nBody.\n"
    found = entry("css", ReleaseKey(144), TW, english)
    assert found.untranslated
    assert found.markdown.startswith("## Feature")


def test_a_pages_preview_file_is_its_markdown_file_with_the_html_suffix() -> None:
    """The generator lists valid preview files by swapping the suffix: true for every kind
    of page in every language, and equal to the path joined part by part."""
    model = build_site_model(
        [entry(area, key, lang) for area in ("css", "webgpu") for key in (BETA, ReleaseKey(143))
         for lang in (Language.EN, Language.ZH, TW)],
        NAMES,
    )  # fmt: skip
    for page in model.pages():
        markdown = jekyll_page_path(page)
        assert html_page_path(page) == PurePosixPath(str(markdown).removesuffix(".md") + ".html")
        assert markdown == page.directory / f"{page.stem}.md"
