"""Identity (product, version, channel), title and date of a release note."""

import pytest

from webplatform_digest.errors import ParseError
from webplatform_digest.models import Channel, Product
from webplatform_digest.releases.blocks import Line
from webplatform_digest.releases.metadata import (
    ReleaseIdentity,
    detect_identity,
    find_release_date,
    find_source_url,
    parse_date,
    release_title,
)


@pytest.mark.parametrize(
    ("h1s", "url", "source", "expected"),
    [
        pytest.param(
            ["Chrome 144 Release Notes (Stable)"],
            None,
            "x.md",
            (Product.CHROME, 144, Channel.STABLE),
            id="stable-title",
        ),
        pytest.param(
            ["Chrome 140 Release Notes (Beta)", "Chrome 140 beta"],
            None,
            "x.md",
            (Product.CHROME, 140, Channel.BETA),
            id="beta-title",
        ),
        pytest.param(
            ["What's New in WebGPU (Chrome 137)"],
            None,
            "x.md",
            (Product.WEBGPU, 137, Channel.STABLE),
            id="webgpu-title",
        ),
        pytest.param(
            [],
            "https://developer.chrome.com/blog/chrome-141-beta",
            "x.md",
            (Product.CHROME, 141, Channel.BETA),
            id="beta-url",
        ),
        pytest.param(
            [],
            "https://developer.chrome.com/blog/new-in-webgpu-120",
            "x.md",
            (Product.WEBGPU, 120, Channel.STABLE),
            id="webgpu-url",
        ),
        pytest.param(
            ["Release notes"], None, "a/chrome-139-beta.md", (Product.CHROME, 139, Channel.BETA)
        ),
        pytest.param(
            ["Chrome 0 nonsense"], None, "chrome-12.md", (Product.CHROME, 12, Channel.STABLE)
        ),
    ],
)
def test_identity_is_detected_from_titles_then_url_then_file_name(
    h1s: list[str], url: str | None, source: str, expected: tuple[Product, int, Channel]
) -> None:
    """The first usable hint in title, Source URL, file name order wins."""
    found = detect_identity(h1s, url, source, None, None, None)
    assert (found.product, found.version, found.channel) == expected


def test_no_version_anywhere_is_a_parse_error_at_line_1() -> None:
    """The error says where to put the version."""
    with pytest.raises(ParseError, match=r"^notes\.md:1: cannot tell the Chrome version"):
        detect_identity(["Release notes"], None, "notes.md", None, None, None)


def test_webgpu_notes_are_always_stable() -> None:
    """WebGPU notes have no channel; an explicit beta is ignored."""
    found = detect_identity([], None, "x.md", Product.WEBGPU, 150, Channel.BETA)
    assert found == ReleaseIdentity(Product.WEBGPU, 150, Channel.STABLE)


def test_title_drops_page_chrome_and_falls_back_to_the_identity() -> None:
    """The DevSite "Stay organized…" suffix is removed; no H1 gives a made-up title."""
    identity = ReleaseIdentity(Product.CHROME, 150, Channel.BETA)
    assert release_title(["Chrome 150 Stay organized with collections x"], identity) == "Chrome 150"
    assert release_title([], identity) == "Chrome 150 (beta)"


def test_source_url_and_release_date_are_found_in_the_preamble() -> None:
    """``Source:`` lines and release-date lines are recognised."""
    lines = [Line(1, "Source: https://developer.chrome.com/release-notes/150"), Line(2, "")]
    assert find_source_url(lines) == "https://developer.chrome.com/release-notes/150"
    assert find_release_date(["Chrome 124 is stable as of 16 April 2024."]) == "2024-04-16"
    assert find_release_date(["Published: June 25, 2025 "]) == "2025-06-25"
    assert find_release_date(["nothing here"]) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("January 13th, 2026", "2026-01-13"),
        ("16 April 2024", "2024-04-16"),
        ("Sept 2, 2025", "2025-09-02"),
        ("2026-02-30", None),
        ("Foo 3, 2025", None),
        ("soon", None),
    ],
)
def test_release_dates_are_normalised_to_iso(text: str, expected: str | None) -> None:
    """Dates in the formats the notes use become ISO-8601; impossible dates are None."""
    assert parse_date(text) == expected
