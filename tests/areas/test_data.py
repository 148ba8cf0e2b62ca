"""Per-area YAML documents: build, dump, load."""

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from webplatform_digest.areas.data import (
    area_statistics,
    build_area_data,
    dump_area_data,
    load_area_data,
    plain_document,
    source_digest,
)
from webplatform_digest.errors import ParseError
from webplatform_digest.models import Channel, Feature, Link, LinkType, Product, ReleaseKey

KEY = ReleaseKey(150, Channel.BETA)
FEATURES = (
    Feature(
        title="CSS `thing`: 新しい",
        section="CSS and UI",
        body="Line one.  \n\n```css\na { b: c }\n```\n\ttabbed",
        links=(
            Link("https://crbug.com/1", LinkType.TRACKING_BUG, "Bug #1"),
            Link("https://drafts.csswg.org/x", LinkType.SPEC, "Spec"),
        ),
        line=12,
    ),
    Feature("WebGPU thing", "WebGPU", "", (), Product.WEBGPU, 3),
)


def test_statistics_count_features_and_links_by_type() -> None:
    """Counts are derived from the features."""
    stats = area_statistics(FEATURES)
    assert (stats.feature_count, stats.link_count) == (2, 2)
    assert stats.links_by_type == (("spec", 1), ("tracking_bug", 1))


def test_area_data_round_trips_through_yaml() -> None:
    """load(dump(x)) == x, including unicode, tabs, trailing spaces and code."""
    data = build_area_data(KEY, "css", FEATURES, source_digest(b"notes"))
    assert load_area_data(dump_area_data(data), source="x.yml") == data


def test_the_yaml_has_the_documented_schema() -> None:
    """Top-level keys and per-feature keys are the documented ones, in order."""
    document = yaml.safe_load(dump_area_data(build_area_data(KEY, "css", FEATURES)))
    assert list(document) == [
        "schema",
        "version",
        "channel",
        "area",
        "source_hash",
        "statistics",
        "features",
    ]
    assert (document["version"], document["channel"], document["area"]) == (150, "beta", "css")
    assert list(document["features"][0]) == [
        "title",
        "section",
        "product",
        "line",
        "content",
        "links",
    ]
    assert document["features"][0]["links"][0] == {
        "url": "https://crbug.com/1",
        "type": "tracking_bug",
        "title": "Bug #1",
    }


def test_dumping_is_deterministic() -> None:
    """The same data gives the same bytes (what makes re-processing write nothing)."""
    data = build_area_data(KEY, "css", FEATURES, "sha256:x")
    assert dump_area_data(data) == dump_area_data(build_area_data(KEY, "css", FEATURES, "sha256:x"))


def test_source_digest_depends_on_order_and_boundaries() -> None:
    """Parts are length-prefixed: ("ab", "") and ("a", "b") differ."""
    assert source_digest(b"ab", b"") != source_digest(b"a", b"b")
    assert source_digest(b"x").startswith("sha256:")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        pytest.param(b"\xff\xfe", "not valid UTF-8", id="utf8"),
        pytest.param(b"version: [1\n", "invalid YAML", id="yaml"),
        pytest.param(b"- a list\n", "document must be a mapping", id="not-mapping"),
        pytest.param(b"version: 150\nchannel: beta\narea: css\n", "", id="no-features-ok"),
        pytest.param(b"version: 0\nchannel: beta\narea: css\n", "out of range", id="version"),
        pytest.param(b"version: 150\nchannel: nightly\narea: css\n", "channel", id="channel"),
        pytest.param(b"version: 150\nchannel: beta\narea: ../x\n", "area id", id="area"),
        pytest.param(
            b"version: 150\nchannel: beta\narea: css\nfeatures: [{section: S}]\n",
            "features[0].title",
            id="title",
        ),
        pytest.param(
            b"version: 150\nchannel: beta\narea: css\n"
            b"features: [{title: T, links: [{url: u, type: bogus}]}]\n",
            "features[0].links[0].type",
            id="link-type",
        ),
        pytest.param(
            b"version: 150\nchannel: beta\narea: css\nfeatures: [{title: T, line: -1}]\n",
            "line",
            id="line",
        ),
    ],
)
def test_bad_area_data_is_a_parse_error_naming_the_file(data: bytes, problem: str) -> None:
    """Each malformed document is a ParseError with the source and the failing field."""
    if not problem:
        assert load_area_data(data, source="f.yml").features == ()
        return
    with pytest.raises(ParseError) as caught:
        load_area_data(data, source="f.yml")
    assert str(caught.value).startswith("f.yml")
    assert problem in str(caught.value)


_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)


@settings(max_examples=150, deadline=None)
@given(
    features=st.lists(
        st.builds(
            Feature,
            title=_text.filter(str.strip),
            section=_text,
            body=_text,
            links=st.lists(
                st.builds(
                    Link,
                    url=st.just("https://a.example/") | st.just("https://crbug.com/9"),
                    type=st.sampled_from(LinkType),
                    title=_text,
                ),
                max_size=3,
            ).map(tuple),
            product=st.sampled_from(Product),
            line=st.integers(0, 10_000),
        ),
        max_size=5,
    )
)
def test_any_features_round_trip(features: list[Feature]) -> None:
    """Round trip holds for arbitrary text (control characters, newlines, quotes, unicode)."""
    data = build_area_data(KEY, "css", features, "sha256:y")
    assert load_area_data(dump_area_data(data), source="p.yml") == data


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_plain_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.floats(allow_nan=False),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(_plain_values, st.booleans())
def test_a_plain_document_has_the_values_the_safe_loader_gives(value: object, flow: bool) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow, allow_unicode=True)
    assert plain_document(text) == yaml.load(text, Loader=_SAFE_LOADER)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a: 012\nb: 0x1f\nc: 1_000\nd: +7\ne: -0\n",
        "base: &b {x: 1}\nother:\n  <<: *b\n  y: 2\n",
        "when: 2026-12-06\nratio: 1.5e3\nflag: Off\nnothing: ~\n",
        "a: &shared [1, 2]\nb: *shared\n",
        "? [1, 2]\n: listed key\n",
        "a: !!str 12\nb: !!int '7'\nc: !!binary aGk=\n",
        "- !!set {a, b}\n- !!omap [x: 1]\n",
    ],
)
def test_a_plain_document_agrees_with_the_safe_loader_on_tags_merges_and_aliases(
    text: str,
) -> None:
    try:
        expected = yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError:
        with pytest.raises(yaml.YAMLError):
            plain_document(text)
        return
    assert plain_document(text) == expected


def test_an_alias_is_the_same_object_and_a_document_may_contain_itself() -> None:
    shared = plain_document("a: &s [1]\nb: *s\n")
    assert isinstance(shared, dict)
    assert shared["a"] is shared["b"]
    looped = plain_document("&loop [1, *loop]\n")
    assert isinstance(looped, list)
    assert looped[1] is looped


def test_a_custom_tag_is_a_parse_error_naming_the_file() -> None:
    with pytest.raises(ParseError, match="invalid YAML") as caught:
        load_area_data(b"schema: !evil x\n", source="processed/areas/css/x.yml")
    assert "processed/areas/css/x.yml" in str(caught.value)
