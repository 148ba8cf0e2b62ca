"""Link extraction, resolution and typing."""

import pytest

from webplatform_digest.models import Link, LinkType
from webplatform_digest.releases.links import clean_title, extract_links, link_type, resolve_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://issues.chromium.org/issues/1", LinkType.TRACKING_BUG, id="issues"),
        pytest.param("https://crbug.com/1", LinkType.TRACKING_BUG, id="crbug"),
        pytest.param(
            "https://bugs.chromium.org/p/dawn/issues/detail?id=1",
            LinkType.TRACKING_BUG,
            id="bugs-chromium",
        ),
        pytest.param("https://issuetracker.google.com/1", LinkType.TRACKING_BUG, id="tracker"),
        pytest.param("https://chromestatus.com/feature/1", LinkType.CHROMESTATUS, id="status"),
        pytest.param("https://www.chromestatus.com/features", LinkType.CHROMESTATUS, id="www"),
        pytest.param("https://www.w3.org/TR/css-2/", LinkType.SPEC, id="w3"),
        pytest.param("https://html.spec.whatwg.org/#x", LinkType.SPEC, id="whatwg"),
        pytest.param("https://drafts.csswg.org/css-ui/", LinkType.SPEC, id="csswg"),
        pytest.param("https://wicg.github.io/x/", LinkType.SPEC, id="wicg"),
        pytest.param("https://tc39.es/proposal-temporal/", LinkType.SPEC, id="tc39"),
        pytest.param("https://gpuweb.github.io/gpuweb/", LinkType.SPEC, id="gpuweb"),
        pytest.param("https://w3c.github.io/webcodecs/", LinkType.SPEC, id="w3c-gh"),
        pytest.param("https://svgwg.org/svg2-draft/", LinkType.SPEC, id="svgwg"),
        pytest.param("https://datatracker.ietf.org/doc/rfc9110", LinkType.SPEC, id="ietf"),
        pytest.param("https://developer.mozilla.org/docs/Web/CSS", LinkType.MDN, id="mdn"),
        pytest.param("https://github.com/w3c/manifest/pull/1", LinkType.GITHUB, id="github"),
        pytest.param("https://web.dev/articles/x", LinkType.OTHER, id="web-dev"),
        pytest.param("https://someone.github.io/blog/post", LinkType.OTHER, id="gh-pages-blog"),
        pytest.param("https://notchromestatus.com/x", LinkType.OTHER, id="lookalike-host"),
    ],
)
def test_links_are_typed_by_host(url: str, expected: LinkType) -> None:
    """Each known host maps to its link type; unknown hosts are ``other``."""
    assert link_type(url) is expected


def test_a_github_pages_link_titled_spec_is_a_spec() -> None:
    """A draft on an unknown GitHub Pages site counts as a spec when the link says so."""
    assert link_type("https://someone.github.io/draft/", "Spec") is LinkType.SPEC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("/blog/x", "https://developer.chrome.com/blog/x", id="root-relative"),
        pytest.param("//example.com/a", "https://example.com/a", id="scheme-relative"),
        pytest.param("https://a.example/b", "https://a.example/b", id="absolute"),
        pytest.param("javascript:alert(1)", None, id="javascript"),
        pytest.param("data:text/html,x", None, id="data"),
        pytest.param("mailto:a@b.example", None, id="mailto"),
        pytest.param("", None, id="empty"),
        pytest.param("http://[::1", None, id="bad-ipv6"),
    ],
)
def test_relative_links_become_absolute_and_other_schemes_are_dropped(
    raw: str, expected: str | None
) -> None:
    """Relative targets resolve on developer.chrome.com; non-http(s) targets are refused."""
    assert resolve_url(raw) == expected


def test_extract_links_finds_inline_links_and_autolinks_but_not_images() -> None:
    """Inline links and autolinks count; images do not; duplicates keep the first title."""
    lines = [
        "See [the `spec`](https://drafts.csswg.org/a) and ![pic](https://x.example/p.png).",
        "Report at <https://crbug.com/7> or [again](https://drafts.csswg.org/a).",
    ]
    assert extract_links(lines) == (
        Link("https://drafts.csswg.org/a", LinkType.SPEC, "the spec"),
        Link("https://crbug.com/7", LinkType.TRACKING_BUG, "https://crbug.com/7"),
    )


def test_extract_links_handles_brackets_in_text_and_parentheses_in_urls() -> None:
    """Nested brackets in link text and balanced parentheses in a URL survive."""
    lines = ['[Bug [#1]](https://en.wikipedia.org/wiki/A_(b)) | [x](/docs/y "title")']
    urls = [link.url for link in extract_links(lines)]
    assert urls == ["https://en.wikipedia.org/wiki/A_(b)", "https://developer.chrome.com/docs/y"]


def test_extract_links_resolves_against_the_page_address() -> None:
    """A relative link resolves against the Source URL when one is known."""
    links = extract_links(["[a](#part)"], base_url="https://developer.chrome.com/blog/x")
    assert links[0].url == "https://developer.chrome.com/blog/x#part"


def test_clean_title_strips_code_and_emphasis_markers() -> None:
    """Backticks and asterisks go (underscores stay: identifiers); empty falls back to the URL."""
    assert clean_title("  `round()` **now** `subgroup_id` ", "u") == "round() now subgroup_id"
    assert clean_title("``", "https://u.example") == "https://u.example"
