"""The whole pipeline over the real corpus (Chrome 124–144 incl. betas, WebGPU 113–144).

Skipped with a reason where ``../shared/corpus`` is absent.
"""

import re
from pathlib import Path

import pytest

from tests.conftest import CORPUS_DIR
from webplatform_digest.areas.classify import WEBGPU_AREA
from webplatform_digest.areas.data import area_data_set, dump_area_data, load_area_data
from webplatform_digest.models import Channel, Product, Release, ReleaseKey
from webplatform_digest.releases.notes import normalised_title, parse_release
from webplatform_digest.storage.area_store import load_catalog

pytestmark = pytest.mark.corpus
CATALOG = load_catalog()
CHROME_FILES = sorted(p.name for p in CORPUS_DIR.glob("chrome-*.md")) if CORPUS_DIR.is_dir() else []
WEBGPU_FILES = sorted(p.name for p in CORPUS_DIR.glob("webgpu-*.md")) if CORPUS_DIR.is_dir() else []
_BOILERPLATE_H2 = re.compile(r"^## (Further reading|Download Google Chrome|What's New in WebGPU)")


def _parse(corpus_dir: Path, name: str) -> Release:
    return parse_release((corpus_dir / name).read_text(encoding="utf-8"), source=name)


def _webgpu_for(corpus_dir: Path, release: Release) -> Release | None:
    path = corpus_dir / f"webgpu-{release.version}.md"
    return _parse(corpus_dir, path.name) if path.exists() else None


def _h3_count(text: str) -> int:
    """H3 lines outside fences, before the boilerplate: an independent feature count."""
    count, fenced = 0, False
    for line in text.split("\n"):
        if line.startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and _BOILERPLATE_H2.match(line):
            break
        elif not fenced and line.startswith("### "):
            count += 1
    return count


def test_the_corpus_has_all_releases(corpus_dir: Path) -> None:
    """Chrome 124–144 with two betas and WebGPU 113–144 are present."""
    assert len(CHROME_FILES) == 23
    assert len(WEBGPU_FILES) == 32


@pytest.mark.parametrize("name", CHROME_FILES)
def test_feature_conservation_holds_for_every_chrome_release(corpus_dir: Path, name: str) -> None:
    """The titles written across areas are exactly the parsed titles plus the WebGPU note's
    new ones; every WebGPU feature is either written or reported as folded into another."""
    release = _parse(corpus_dir, name)
    webgpu = _webgpu_for(corpus_dir, release)
    result = CATALOG.classify_release(release, webgpu)
    written = {f.title for _, features in result.by_area for f in features}
    parsed = {f.title for f in release.features}
    added_webgpu = {f.title for f in result.features[len(release.features) :]}
    assert written == parsed | added_webgpu
    assert len(result.features) == len(release.features) + len(added_webgpu)
    if webgpu is not None:
        folded = {m.merged for m in result.merges}
        assert {f.title for f in webgpu.features} == added_webgpu | folded
        assert len(webgpu.features) == len(added_webgpu) + len(result.merges)
    assert result.unclassified == ()


@pytest.mark.parametrize("name", CHROME_FILES)
def test_every_h3_is_a_feature_plus_h2_features(corpus_dir: Path, name: str) -> None:
    """Feature counts match an independent count of H3 headings (126 and 143 add an H2)."""
    text = (corpus_dir / name).read_text(encoding="utf-8")
    release = _parse(corpus_dir, name)
    h2_features = {"chrome-126.md": 1, "chrome-143.md": 1}.get(name, 0)
    assert len(release.features) == _h3_count(text) + h2_features
    expected_channel = Channel.BETA if name.endswith("-beta.md") else Channel.STABLE
    assert (release.product, release.channel) == (Product.CHROME, expected_channel)
    assert release.version == int(re.findall(r"\d+", name)[0])


@pytest.mark.parametrize("name", CHROME_FILES + WEBGPU_FILES)
def test_page_chrome_and_boilerplate_never_leak_into_features(corpus_dir: Path, name: str) -> None:
    """No footer, feedback widget, nav bullets, page-chrome H1 or boilerplate section text."""
    for feature in _parse(corpus_dir, name).features:
        assert "Except as otherwise noted" not in feature.body
        assert "Last updated" not in feature.body
        assert "easyToUnderstand" not in feature.body
        assert "Stay organized with collections" not in feature.body
        assert feature.title not in {"Further reading", "Download Google Chrome"}
        assert not feature.title.startswith("Chrome 1")


@pytest.mark.parametrize("name", WEBGPU_FILES)
def test_webgpu_notes_parse_and_merge_into_graphics(corpus_dir: Path, name: str) -> None:
    """Every WebGPU note has features; merged, none of them is lost or duplicated."""
    webgpu = _parse(corpus_dir, name)
    assert webgpu.product is Product.WEBGPU
    assert webgpu.version == int(name[7:10])
    assert webgpu.features
    chrome_path = corpus_dir / f"chrome-{webgpu.version}.md"
    chrome = _parse(corpus_dir, chrome_path.name) if chrome_path.exists() else None
    base = chrome or Release(Product.CHROME, webgpu.version, Channel.STABLE, "", None, None, ())
    result = CATALOG.classify_release(base, webgpu)
    graphics = result.features_for(WEBGPU_AREA)
    keys = [normalised_title(f.title) for f in graphics]
    folded = {normalised_title(m.merged) for m in result.merges}
    assert {normalised_title(f.title) for f in webgpu.features} <= set(keys) | folded
    webgpu_keys = [normalised_title(f.title) for f in graphics if f.product is Product.WEBGPU]
    assert len(webgpu_keys) == len(set(webgpu_keys))


def test_h2_features_land_in_the_right_areas(corpus_dir: Path) -> None:
    """chrome-126's Attribution Reporting H2 and chrome-143's "Deprecate XSLT" are classified."""
    r126 = CATALOG.classify_release(_parse(corpus_dir, "chrome-126.md"))
    assert any(
        f.title.startswith("Attribution Reporting API")
        for f in r126.features_for("security-privacy")
    )
    r143 = CATALOG.classify_release(_parse(corpus_dir, "chrome-143.md"))
    deprecations = [f.title for f in r143.features_for("deprecations")]
    assert deprecations[:2] == ["Deprecate XSLT", "Deprecate getters of Intl Locale Info"]


@pytest.mark.parametrize("name", CHROME_FILES)
def test_area_data_of_every_release_round_trips(corpus_dir: Path, name: str) -> None:
    """Every per-area document of the real corpus survives dump and load unchanged."""
    release = _parse(corpus_dir, name)
    result = CATALOG.classify_release(release, _webgpu_for(corpus_dir, release))
    key = ReleaseKey(release.version, release.channel)
    for area, data in area_data_set(result, key, "sha256:x").items():
        assert load_area_data(dump_area_data(data), source=area) == data
