"""Parsing Chrome and WebGPU release notes (fixtures are our own text in the real format)."""

import pytest

from webplatform_digest.errors import InvalidVersionError, ParseError
from webplatform_digest.models import Channel, Feature, LinkType, Product, Release
from webplatform_digest.releases.notes import (
    ORPHAN_SECTION,
    feature_title,
    merge_webgpu,
    normalised_title,
    parse_release,
)

CHROME = """# Chrome 150 Release Notes (Stable)

Source: https://developer.chrome.com/release-notes/150

  * [ Chrome for Developers ](https://developer.chrome.com/)
  * [ Docs ](https://developer.chrome.com/docs)

#  Chrome 150 {PAGE_CHROME}

**Stable release date:** March 3rd, 2026

Want just the highlights? Check out [New in Chrome 150](/blog/new-in-chrome-150).

## CSS and UI

This release adds two new CSS and UI features.

### First styling feature

Text of the first feature.

{LINK_BAR}

### Second styling feature

#### How to use it

```css
## not a heading
a { color: red; }
```

## A standalone feature heading

Text that is a feature on its own.

[ChromeStatus.com entry](https://chromestatus.com/feature/2)

## Deprecations and removals

## Deprecate the old thing

Why it goes.

[ChromeStatus.com entry](https://chromestatus.com/feature/3)

### Remove another thing

Gone.

## Further reading

  * [What's new](/blog/new-in-chrome-150)

## Download Google Chrome

Download Chrome for [Android](https://play.google.com/store/apps/details?id=x).

Except as otherwise noted, the content of this page is licensed under the [CC](https://creativecommons.org/licenses/by/4.0/).

Last updated 2026-03-03 UTC.
""".replace(
    "{PAGE_CHROME}",
    "Stay organized with collections  Save and categorize content based on your preferences.",
).replace(
    "{LINK_BAR}",
    "[Tracking bug #1](https://issues.chromium.org/issues/1) | "
    "[ChromeStatus.com entry](https://chromestatus.com/feature/1) | "
    "[Spec](https://drafts.csswg.org/x)",
)

WEBGPU = """# WebGPU 150 Release Notes

Source: https://developer.chrome.com/blog/new-in-webgpu-150

#  What's New in WebGPU (Chrome 150)

[ GitHub ](https://github.com/someone)

Published: February 25, 2026

## Faster things

Body with [a spec link](https://gpuweb.github.io/gpuweb/#x).

### Enable the feature

Flag text.

## Key Updates

### 1. Numbered feature

- point

### 2. Another numbered feature

- point

## What's New in WebGPU

### Chrome 149

  * [Old item](/blog/new-in-webgpu-149)
"""


def _titles(release: Release) -> list[tuple[str, str]]:
    return [(feature.section, feature.title) for feature in release.features]


def test_chrome_note_metadata_comes_from_title_source_and_date_lines() -> None:
    """Version, channel, title, ISO release date and the Source URL are detected."""
    release = parse_release(CHROME)
    assert (release.product, release.version, release.channel) == (
        Product.CHROME,
        150,
        Channel.STABLE,
    )
    assert release.title == "Chrome 150 Release Notes (Stable)"
    assert release.release_date == "2026-03-03"
    assert release.source_url == "https://developer.chrome.com/release-notes/150"


def test_chrome_features_are_h3s_plus_h2s_that_carry_feature_links() -> None:
    """Nav bullets, intros, boilerplate and footer are dropped; H2 features are kept."""
    assert _titles(parse_release(CHROME)) == [
        ("CSS and UI", "First styling feature"),
        ("CSS and UI", "Second styling feature"),
        ("A standalone feature heading", "A standalone feature heading"),
        ("Deprecations and removals", "Deprecate the old thing"),
        ("Deprecations and removals", "Remove another thing"),
    ]


def test_sections_list_every_non_boilerplate_h2_once() -> None:
    """An H2 feature that joins an empty section does not open a section of its own."""
    assert parse_release(CHROME).sections == (
        "CSS and UI",
        "A standalone feature heading",
        "Deprecations and removals",
    )


def test_feature_bodies_keep_h4_headings_and_code_intact() -> None:
    """Deeper headings and fenced code (with a ``##`` line in it) stay in the feature."""
    second = parse_release(CHROME).features[1]
    assert second.body == "#### How to use it\n\n```css\n## not a heading\na { color: red; }\n```"
    assert second.line == 24


def test_feature_links_are_typed_and_absolute() -> None:
    """Links of a feature come out typed, in order."""
    first = parse_release(CHROME).features[0]
    assert [link.type for link in first.links] == [
        LinkType.TRACKING_BUG,
        LinkType.CHROMESTATUS,
        LinkType.SPEC,
    ]


def test_last_feature_does_not_swallow_further_reading_or_footer() -> None:
    """The last feature ends where the boilerplate begins."""
    assert parse_release(CHROME).features[-1].body == "Gone."


def test_webgpu_note_features_stop_at_the_history_section() -> None:
    """H2s are features, "Key Updates" H3s are features, the history section is dropped."""
    release = parse_release(WEBGPU)
    assert release.product is Product.WEBGPU
    assert release.version == 150
    assert release.release_date == "2026-02-25"
    assert _titles(release) == [
        ("WebGPU", "Faster things"),
        ("Key Updates", "Numbered feature"),
        ("Key Updates", "Another numbered feature"),
    ]
    assert "### Enable the feature" in release.features[0].body
    assert all(feature.product is Product.WEBGPU for feature in release.features)


def test_beta_notes_without_a_title_line_are_identified_by_their_h1() -> None:
    """A beta blog post (page-chrome H1, author lines) is version N, channel beta."""
    text = (
        "  * [ Blog ](https://developer.chrome.com/blog)\n\n#  Chrome 151 beta\n\n"
        "Published: April 1, 2026\n\n## CSS\n\nThis release adds one feature.\n\n### F\n\nx\n"
    )
    release = parse_release(text)
    assert (release.version, release.channel, release.release_date) == (
        151,
        Channel.BETA,
        "2026-04-01",
    )
    assert _titles(release) == [("CSS", "F")]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("release_notes/chrome-152.md", (Product.CHROME, 152, Channel.STABLE)),
        pytest.param("chrome-152-beta.md", (Product.CHROME, 152, Channel.BETA)),
        pytest.param("x/webgpu-152.md", (Product.WEBGPU, 152, Channel.STABLE)),
        pytest.param("chrome-152.sample.md", (Product.CHROME, 152, Channel.STABLE)),
    ],
)
def test_the_file_name_is_a_version_hint_when_the_text_names_none(
    source: str, expected: tuple[Product, int, Channel]
) -> None:
    """Without title or Source line, the file name passed as ``source`` decides."""
    release = parse_release("## S\n\n### F\n\nx\n", source=source)
    assert (release.product, release.version, release.channel) == expected


def test_explicit_arguments_win_over_detection() -> None:
    """Explicit product, version and channel override what the text says."""
    release = parse_release(CHROME, version=149, channel=Channel.BETA)
    assert (release.version, release.channel) == (149, Channel.BETA)


def test_an_explicit_version_out_of_range_is_rejected() -> None:
    """Explicit versions are validated like user input."""
    with pytest.raises(InvalidVersionError):
        parse_release(CHROME, version=0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("just prose, no headings", "no '##' or '###' headings", id="no-sections"),
        pytest.param("## S\n### F\n", "cannot tell the Chrome version", id="no-version"),
        pytest.param("# Chrome 150\n## S\n```\nnever closed\n", "never closed", id="fence"),
    ],
)
def test_text_that_cannot_be_a_release_note_is_a_parse_error(text: str, message: str) -> None:
    """Each unrecoverable input names the source in a ParseError."""
    with pytest.raises(ParseError) as caught:
        parse_release(text, source="input.md")
    assert message in str(caught.value)
    assert str(caught.value).startswith("input.md")


def test_orphan_h3s_and_stray_h1s_still_parse() -> None:
    """Best effort: an H3 before any H2 gets a placeholder section; a later H1 is a section."""
    release = parse_release("# Chrome 150\n### Early\nx\n## S\n### A\n# Stray\n### B\n")
    assert _titles(release) == [(ORPHAN_SECTION, "Early"), ("S", "A"), ("Stray", "B")]


def test_windows_newlines_bom_and_control_characters_are_normalised() -> None:
    """CRLF, a BOM and C0 controls do not leak into titles or bodies."""
    text = "\ufeff# Chrome 150\r\n## S\r\n### F\x00eature\r\nbody\x07\r\n"
    feature = parse_release(text).features[0]
    assert (feature.title, feature.body) == ("Feature", "body")


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("1. Numbered", "Numbered"),
        ("Title {#custom-id}", "Title"),
        ("  spaced   out  ", "spaced out"),
        ("3D textures", "3D textures"),
        ("1.", "1."),
    ],
)
def test_feature_titles_drop_numbering_and_heading_ids(heading: str, expected: str) -> None:
    """List numbering and ``{#id}`` are presentation, not title."""
    assert feature_title(heading) == expected


def test_normalised_titles_ignore_case_punctuation_and_a_webgpu_prefix() -> None:
    """``WebGPU: `Foo` bar`` and ``foo Bar`` compare equal."""
    assert normalised_title("WebGPU: `Foo` bar!") == normalised_title("2. foo Bar")


def test_merge_webgpu_appends_only_features_chrome_does_not_already_have() -> None:
    """Chrome's features are all kept; WebGPU duplicates (by normalised title) are dropped."""
    chrome = (
        Feature("WebGPU: Shared thing", "Graphics", ""),
        Feature("Same title", "Graphics", ""),
        Feature("Same title", "Graphics", "twice in chrome"),
    )
    webgpu = parse_release(
        "# WebGPU 150\n## Shared thing\nx\n## New thing\ny\n## new  THING\nz\n",
        product=Product.WEBGPU,
    )
    merged = merge_webgpu(chrome, webgpu)
    assert [f.title for f in merged] == [
        "WebGPU: Shared thing",
        "Same title",
        "Same title",
        "New thing",
    ]
    assert merge_webgpu(chrome, None) == chrome
