"""Classification of features into focus areas with the shipped and with small catalogues."""

import pytest

from webplatform_digest.areas.classify import WEBGPU_AREA, FocusAreaManager, normalise_section
from webplatform_digest.errors import ConfigError, UnknownAreaError
from webplatform_digest.models import Channel, Feature, FocusArea, Link, LinkType, Product, Release
from webplatform_digest.storage.area_store import load_catalog

CATALOG = load_catalog()

#: every H2 section name of the Chrome 124–144 release notes
SECTION_NAMES = {
    "Accessibility": "accessibility",
    "Audio and video": "multimedia",
    "Browser Changes and Developer Tools": "browser-changes",
    "Browser changes": "browser-changes",
    "Browser changes and development tools": "browser-changes",
    "CSS": "css",
    "CSS and UI": "css",
    "Chrome Apps": "browser-changes",
    "DOM": "html-dom",
    "Deprecations and removals": "deprecations",
    "Device": "devices",
    "Devices": "devices",
    "Enterprise": "enterprise",
    "Graphics": "graphics-webgpu",
    "HTML and DOM": "html-dom",
    "Identity": "identity",
    "Images and media": "multimedia",
    "Isolated Web Apps": "isolated-web-apps",
    "Isolated Web Apps (IWA)": "isolated-web-apps",
    "Isolated Web Apps (IWAs)": "isolated-web-apps",
    "JavaScript": "javascript",
    "Loading": "navigation-loading",
    "Managed ChromeOS only": "enterprise",
    "Media": "multimedia",
    "Miscellaneous": None,
    "Multimedia": "multimedia",
    "Navigation": "navigation-loading",
    "Network": "network",
    "Network / Connectivity": "network",
    "New origin trials": "origin-trials",
    "Offline / Storage": "storage",
    "On-device AI": "on-device-ai",
    "Origin trials": "origin-trials",
    "Origin trials in progress": "origin-trials",
    "PWA": "pwa-service-worker",
    "Payments": "payments",
    "Performance": "performance",
    "Permissions": "permissions",
    "Privacy": "security-privacy",
    "Privacy and security": "security-privacy",
    "Removals": "deprecations",
    "Rendering and Graphics": "graphics-webgpu",
    "Rendering and graphics": "graphics-webgpu",
    "Secure Payment Confirmation (SPC)": "payments",
    "Security": "security-privacy",
    "Service Worker": "pwa-service-worker",
    "Service worker": "pwa-service-worker",
    "User input": "user-input",
    "Web APIs": "web-apis",
    "WebAssembly": "webassembly",
    "WebGPU": "graphics-webgpu",
    "WebRTC": "webrtc",
}


def _area(
    area_id: str,
    *,
    heading_patterns: tuple[str, ...] = (),
    keywords: tuple[str, ...] = (),
    multi_tag: bool = True,
) -> FocusArea:
    return FocusArea(
        id=area_id,
        name=area_id,
        name_zh=area_id,
        description="d",
        heading_patterns=heading_patterns,
        keywords=keywords,
        multi_tag=multi_tag,
    )


def _release(*features: Feature, product: Product = Product.CHROME) -> Release:
    return Release(product, 150, Channel.STABLE, "t", None, None, tuple(features))


@pytest.mark.parametrize(("section", "area"), sorted(SECTION_NAMES.items()))
def test_the_shipped_catalogue_covers_every_section_name_of_chrome_124_to_144(
    section: str, area: str | None
) -> None:
    """Each real section name maps to exactly one area ("Miscellaneous" is ``other``'s)."""
    assert CATALOG.section_areas(section) == ((area,) if area else ())
    if area is None:
        assert CATALOG.classify(Feature("Plain title", section, "")) == ("other",)


def test_the_shipped_catalogue_has_names_in_both_languages_and_ends_with_other() -> None:
    """Every area has an English and a Chinese name; ``other`` sorts last."""
    assert len(CATALOG.areas) >= 25
    assert all(area.name and area.name_zh and area.description for area in CATALOG.areas)
    assert CATALOG.ids[-1] == "other"


def test_keywords_multi_tag_a_webgpu_origin_trial() -> None:
    """A WebGPU feature under "Origin trials" lands in origin-trials and graphics-webgpu."""
    feature = Feature("WebGPU shader timing queries", "Origin trials", "")
    assert CATALOG.classify(feature) == ("origin-trials", "graphics-webgpu")


def test_an_area_without_multi_tag_does_not_tag_other_sections() -> None:
    """``multi_tag: false`` keywords only rescue features of unknown sections."""
    catalog = FocusAreaManager(
        [
            _area("a", heading_patterns=("alpha",)),
            _area("b", keywords=("beta",), multi_tag=False),
            _area("other"),
        ]
    )
    assert catalog.classify(Feature("beta thing", "Alpha", "")) == ("a",)
    assert catalog.classify(Feature("beta thing", "Unknown", "")) == ("b",)


def test_unknown_sections_fall_back_to_other_and_are_reported() -> None:
    """A section no area knows goes to ``other`` and is listed as unclassified."""
    features = (
        Feature("Plain title", "Sundry", ""),
        Feature("WebGPU thing", "Sundry", ""),
        Feature("Another plain title", "Miscellaneous", ""),
    )
    result = CATALOG.classify_release(_release(*features))
    assert result.features_for("other") == (features[0], features[2])
    assert result.features_for(WEBGPU_AREA) == (features[1],)
    assert result.unclassified == ("Sundry",)


def test_keyword_matching_is_whole_word_and_case_insensitive() -> None:
    """``GPU`` matches "gpu timing" but not "GPUAdapter"; ``css`` matches "CSS"."""
    catalog = FocusAreaManager([_area("g", keywords=("GPU",)), _area("other")])
    assert catalog.classify(Feature("gpu timing", "X", "")) == ("g",)
    assert catalog.classify(Feature("GPUAdapter info", "X", "")) == ("other",)


def test_section_names_are_normalised_before_matching() -> None:
    """Case, backticks and spacing do not matter for section matching."""
    assert normalise_section("  `CSS`   and  UI ") == "css and ui"
    assert CATALOG.section_areas("css AND ui") == ("css",)


def test_webgpu_notes_merge_into_graphics_without_duplicates() -> None:
    """WebGPU features follow Chrome's graphics features; same-titled ones are folded in."""
    chrome = _release(Feature("WebGPU: Tiled formats", "Graphics", ""), Feature("Grid", "CSS", ""))
    webgpu = _release(
        Feature("Tiled formats", "WebGPU", "", product=Product.WEBGPU),
        Feature("Dawn speedups", "Dawn updates", "", product=Product.WEBGPU),
        product=Product.WEBGPU,
    )
    result = CATALOG.classify_release(chrome, webgpu)
    titles = [f.title for f in result.features_for(WEBGPU_AREA)]
    assert titles == ["WebGPU: Tiled formats", "Dawn speedups"]
    assert [f.title for f in result.features] == ["WebGPU: Tiled formats", "Grid", "Dawn speedups"]
    assert result.counts() == {"css": 1, WEBGPU_AREA: 2}


def test_a_webgpu_note_feature_sharing_a_chromestatus_entry_is_folded_into_chromes() -> None:
    """One entry: Chrome's title, both bodies (the note's code too), the links of both."""
    status = Link("https://chromestatus.com/feature/5110223547269120", LinkType.CHROMESTATUS, "")
    bug = Link("https://issues.chromium.org/issues/414312052", LinkType.TRACKING_BUG, "")
    sample = Link("https://webgpu.github.io/samples/", LinkType.OTHER, "")
    chrome = _release(
        Feature(
            "WebGPU: Texture component swizzle", "Graphics", "Rearranges channels.", (bug, status)
        ),
        Feature("WebGPU swizzle origin trial", "Origin trials", "Try it.", ()),
    )
    note = Feature("Swizzling views", "WebGPU", "```js\nview({ swizzle })\n```", (status, sample))
    result = CATALOG.classify_release(chrome, _release(note, product=Product.WEBGPU))
    graphics = result.features_for(WEBGPU_AREA)
    assert [f.title for f in graphics] == [
        "WebGPU: Texture component swizzle",
        "WebGPU swizzle origin trial",
    ]
    folded = graphics[0]
    assert folded.body == "Rearranges channels.\n\n```js\nview({ swizzle })\n```"
    assert folded.links == (bug, status, sample)
    assert [(m.kept, m.merged, m.reason) for m in result.merges] == [
        ("WebGPU: Texture component swizzle", "Swizzling views", "chromestatus:5110223547269120")
    ]
    assert len(result.features) == 2


def test_titles_that_differ_only_in_where_they_are_written_up_are_one_feature() -> None:
    """ "WebGPU: `subgroup_id` feature" and "WGSL subgroup_id extension" are one feature; a
    spec front page shared by unrelated features merges nothing."""
    spec = Link("https://gpuweb.github.io/gpuweb/", LinkType.SPEC, "")
    chrome = _release(
        Feature("WebGPU: `subgroup_id` feature", "Graphics", "a", (spec,)),
        Feature("WebGPU: Faster buffers", "Graphics", "b", (spec,)),
    )
    webgpu = _release(
        Feature("WGSL subgroup_id extension", "WebGPU", "c", (spec,)),
        Feature("WebGPU on Linux", "WebGPU", "d", (spec,)),
        product=Product.WEBGPU,
    )
    result = CATALOG.classify_release(chrome, webgpu)
    assert [f.title for f in result.features_for(WEBGPU_AREA)] == [
        "WebGPU: `subgroup_id` feature",
        "WebGPU: Faster buffers",
        "WebGPU on Linux",
    ]
    assert [m.reason for m in result.merges] == ["title"]


def test_without_a_graphics_area_webgpu_features_land_in_other() -> None:
    """Nothing is dropped even when the catalogue lacks graphics-webgpu."""
    catalog = FocusAreaManager([_area("other")])
    webgpu = _release(Feature("Thing", "WebGPU", ""), product=Product.WEBGPU)
    assert catalog.classify_release(_release(), webgpu).counts() == {"other": 1}


def test_areas_resolve_by_id_or_alias_and_unknown_names_list_valid_ids() -> None:
    """``webgpu`` is an alias of graphics-webgpu; an unknown name is an UnknownAreaError."""
    assert CATALOG.resolve("WebGPU") == WEBGPU_AREA
    assert CATALOG.resolve("css") == "css"
    with pytest.raises(UnknownAreaError, match="valid areas: css"):
        CATALOG.resolve("nonsense")
    with pytest.raises(UnknownAreaError):
        CATALOG.get("nonsense")


def test_a_catalogue_without_other_or_with_duplicates_is_refused() -> None:
    """The manager insists on the fallback area and unique ids."""
    with pytest.raises(ConfigError, match="other"):
        FocusAreaManager([_area("a")])
    with pytest.raises(ConfigError, match="duplicate"):
        FocusAreaManager([_area("a"), _area("a"), _area("other")])
