"""Scanning release-note markdown into preamble, H2 blocks and H3 sub-blocks."""

import pytest

from webplatform_digest.errors import ParseError
from webplatform_digest.releases.blocks import Line, body_text, scan_lines, scan_page


def _headings(text: str) -> list[tuple[int, str]]:
    return [(line.level, line.heading) for line in scan_lines(text.split("\n")) if line.level]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("## Title", [(2, "Title")], id="plain"),
        pytest.param("### Title ###", [(3, "Title")], id="closing-hashes"),
        pytest.param("   #### Deep", [(4, "Deep")], id="indented-up-to-3"),
        pytest.param("#hashtag", [], id="no-space"),
        pytest.param("##", [], id="empty-heading-is-text"),
        pytest.param("####### seven", [], id="too-deep"),
        pytest.param("## C# and F#", [(2, "C# and F#")], id="hash-inside"),
    ],
)
def test_atx_headings_are_recognised(text: str, expected: list[tuple[int, str]]) -> None:
    """ATX headings per CommonMark; empty headings stay text."""
    assert _headings(text) == expected


def test_headings_inside_fenced_and_indented_code_are_text() -> None:
    """A ``#`` line inside a fence or an indented block is code, not a heading."""
    text = "intro\n\n```sh\n# comment\n```\n\n    # also code\n    more\n\n## Real"
    assert _headings(text) == [(2, "Real")]


def test_a_tilde_fence_is_closed_only_by_a_tilde_fence_as_long() -> None:
    """Backtick lines inside a tilde fence do not close it."""
    text = "~~~~\n```\n## inside\n~~~\n~~~~\n## after"
    assert _headings(text) == [(2, "after")]


def test_an_unclosed_fence_is_a_parse_error_naming_its_line() -> None:
    """A fence that never closes would swallow the rest of the page: refuse with its line."""
    with pytest.raises(ParseError) as caught:
        scan_lines(["## A", "", "```js", "x()"], source="notes.md")
    assert caught.value.line == 3
    assert str(caught.value).startswith("notes.md:3:")


def test_scanning_stops_at_the_site_footer() -> None:
    """The licence notice and everything after it are not content."""
    text = "## A\n### f\nbody\n\nExcept as otherwise noted, the content of this page is licensed"
    text += "\n## Not a section"
    assert _headings(text) == [(2, "A"), (3, "f")]


def test_scan_page_builds_blocks_with_h4_inside_the_feature() -> None:
    """H3s are sub-blocks of the H2 above; H4 lines belong to the H3's body."""
    page = scan_page("# Title\npre\n## S\nintro\n### F\n#### Detail\ntext\n## T")
    assert [line.text for line in page.preamble] == ["# Title", "pre"]
    assert [block.title for block in page.blocks] == ["S", "T"]
    first = page.blocks[0]
    assert [line.text for line in first.intro] == ["intro"]
    assert [line.text for line in first.subs[0].body] == ["#### Detail", "text"]


def test_h3_before_any_h2_opens_an_orphan_block() -> None:
    """An H3 that comes first still becomes a sub-block (of a block without heading)."""
    page = scan_page("### Lonely\nbody")
    assert page.blocks[0].title is None
    assert page.blocks[0].subs[0].head.heading == "Lonely"


def test_an_h1_after_content_starts_a_new_block() -> None:
    """A stray H1 after the first section is treated like an H2."""
    page = scan_page("## A\n# Stray\ntext")
    assert [block.title for block in page.blocks] == ["A", "Stray"]


def test_body_text_trims_blank_lines_and_trailing_rules() -> None:
    """Leading/trailing blanks and a closing horizontal rule are not content."""
    lines = [Line(1, ""), Line(2, "text  "), Line(3, ""), Line(4, "---"), Line(5, "")]
    assert body_text(lines) == "text"
