"""Property tests: the parser never fails with anything but ParseError, on any input."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CORPUS_DIR, SAMPLES_DIR
from webplatform_digest.errors import ParseError
from webplatform_digest.models import Channel, Product, Release
from webplatform_digest.releases.notes import parse_release
from webplatform_digest.storage.area_store import load_catalog

CATALOG = load_catalog()
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

_LINE_KINDS = [
    "",
    "# Chrome 150 Release Notes (Stable)",
    "#  Chrome 150 beta",
    "# WebGPU 150 Release Notes",
    "Source: https://developer.chrome.com/release-notes/150",
    "## CSS and UI",
    "## Origin trials",
    "## What's New in WebGPU",
    "## Further reading",
    "### A feature",
    "### 1. Numbered",
    "#### Detail",
    "##",
    "```",
    "```js",
    "~~~",
    "    indented code",
    "  * [ Docs ](https://developer.chrome.com/docs)",
    "[ChromeStatus.com entry](https://chromestatus.com/feature/1)",
    "[Tracking bug #1](https://issues.chromium.org/issues/1) | [Spec](/x)",
    "![img](https://x.example/a.png)",
    "Published: June 1, 2025",
    "**Stable release date:** May 2nd, 2025",
    "Except as otherwise noted, the content of this page is licensed",
    "---",
    "text with [unbalanced](link and `code`",
]


def _sources() -> dict[str, str]:
    files = sorted(SAMPLES_DIR.glob("release_notes/*.md"))
    if CORPUS_DIR.is_dir():
        files += sorted(CORPUS_DIR.glob("*.md"))
    return {path.name: path.read_text(encoding="utf-8") for path in files}


SOURCES = _sources()


def _parse_or_parse_error(text: str, source: str) -> Release | None:
    error: ParseError | None = None
    try:
        return parse_release(text, source=source)
    except ParseError as exc:
        error = exc
    assert error.source == source
    return None


def _check_invariants(release: Release) -> None:
    assert release.version >= 1
    if release.product is Product.WEBGPU:
        assert release.channel is Channel.STABLE
    for feature in release.features:
        assert feature.title.strip()
        assert feature.line >= 1
        assert all(link.url.startswith(("http://", "https://")) for link in feature.links)
    classification = CATALOG.classify_release(release)
    placed = {id(f) for _, features in classification.by_area for f in features}
    assert placed == {id(f) for f in release.features}


@PROPERTY_SETTINGS
@given(text=st.text(max_size=2000), name=st.sampled_from(["<text>", "chrome-150.md"]))
def test_arbitrary_text_parses_or_raises_parse_error(text: str, name: str) -> None:
    """Any string either parses (with invariants) or raises ParseError naming the source."""
    release = _parse_or_parse_error(text, name)
    if release is not None:
        _check_invariants(release)


@PROPERTY_SETTINGS
@given(
    lines=st.lists(
        st.one_of(st.sampled_from(_LINE_KINDS), st.text(max_size=40)), min_size=1, max_size=60
    ),
    name=st.sampled_from(["<text>", "chrome-150-beta.md", "webgpu-150.md"]),
)
def test_markdown_shaped_input_parses_or_raises_parse_error(lines: list[str], name: str) -> None:
    """Random documents built from release-note line shapes never crash the parser."""
    release = _parse_or_parse_error("\n".join(lines), name)
    if release is not None:
        _check_invariants(release)


@st.composite
def _mutated(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(SOURCES)))
    lines = SOURCES[name].split("\n")
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "dup", "insert", "truncate", "garble"]))
        if action == "drop":
            del lines[at : at + draw(st.integers(1, 30))]
        elif action == "dup":
            lines[at:at] = lines[at : at + draw(st.integers(1, 10))]
        elif action == "insert":
            lines.insert(at, draw(st.one_of(st.sampled_from(_LINE_KINDS), st.text(max_size=30))))
        elif action == "truncate":
            lines = lines[:at]
        else:
            lines[at] = lines[at][: draw(st.integers(0, max(0, len(lines[at]))))]
    return name, "\n".join(lines)


@PROPERTY_SETTINGS
@given(case=_mutated())
def test_mutated_real_notes_parse_or_raise_parse_error(case: tuple[str, str]) -> None:
    """Damaged release notes (lines dropped, duplicated, cut, garbled) never crash."""
    name, text = case
    release = _parse_or_parse_error(text, name)
    if release is not None:
        _check_invariants(release)


@pytest.mark.parametrize("path", sorted(SAMPLES_DIR.glob("release_notes/*.md")), ids=str)
def test_every_bundled_sample_parses_with_features(path: Path) -> None:
    """The samples the demo uses are valid release notes."""
    release = parse_release(path.read_text(encoding="utf-8"), source=path.name)
    assert release.features
    _check_invariants(release)
