"""Model output made inert for Liquid and kramdown (reliability study case 21)."""

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.site_samples import HOSTILE
from webplatform_digest.site.markdown import (
    TEXT_ESCAPES,
    escape_label,
    escape_text,
    neutralise_markdown,
    safe_url,
    with_feature_anchors,
)

#: the only tags the neutraliser itself writes
OWN_TAG = re.compile(r'<(?:/?code|/pre|pre)(?: class="language-[A-Za-z0-9_+-]+")?>')
LINK_TARGET = re.compile(r"\]\(([^)\s]*)\)")


def _unescaped_link_targets(text: str) -> list[str]:
    """Targets of ``](…)`` not preceded by an odd run of backslashes (i.e. real links)."""
    found: list[str] = []
    for match in LINK_TARGET.finditer(text):
        slashes = len(text[: match.start()]) - len(text[: match.start()].rstrip("\\"))
        if slashes % 2 == 0:
            found.append(match.group(1))
    return found


def assert_inert(output: str) -> None:
    """No Liquid, no HTML but our own code tags, no link to anything but http(s)/mailto."""
    assert "{" not in output
    assert "}" not in output
    assert "<" not in OWN_TAG.sub("", output)
    for target in _unescaped_link_targets(output):
        assert re.match(r"^(?:https?://|mailto:)", target, re.IGNORECASE), target


def test_hostile_output_keeps_no_liquid_html_or_script_links() -> None:
    """Script tags, event handlers, Liquid, attribute lists, math and bad links are neutralised."""
    output = neutralise_markdown(HOSTILE)
    assert_inert(output)
    assert "javascript:" not in " ".join(_unescaped_link_targets(output))
    assert "&lt;script&gt;" in output
    assert "[ok](https://example.com/ok)" in output


def test_a_code_span_is_shown_exactly_through_entities() -> None:
    """Inline code keeps its angle brackets and braces, as entities inside our own tag."""
    expected = "Use <code>&#60;dialog&#62;&#123;x&#125;</code>.\n"
    assert neutralise_markdown("Use `<dialog>{x}`.") == expected


def test_a_fenced_block_becomes_one_pre_element_with_its_language() -> None:
    """A fence (even unclosed) becomes a single-line <pre>, separated by blank lines."""
    output = neutralise_markdown("Intro\n```js\nif (a < b) {\n  go();\n}\n")
    assert output == (
        'Intro\n\n<pre><code class="language-js">if &#40;a &#60; b&#41; &#123;&#10;  '
        "go&#40;&#41;&#59;&#10;&#125;</code></pre>\n"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("[spec](https://example.com/a_(b))", "[spec](https://example.com/a_%28b%29)"),
        ("[mail](mailto:dev@example.com)", "[mail](mailto:dev@example.com)"),
        ("[x](javascript:alert(1))", "x"),
        ("[x](JaVaScRiPt:alert(1))", "x"),
        ("[x](data:text/html,hi)", "x"),
        ("[x](../../secret.md)", "x"),
        ("[x](//evil.example/)", "x"),
        ("![alt](https://example.com/i.png)", "[alt](https://example.com/i.png)"),
        ("<https://example.com/auto>", "[https://example.com/auto](https://example.com/auto)"),
        ("<javascript:alert(1)>", "&lt;javascript:alert(1)&gt;"),
        ("[text][r]\n\n[r]: https://example.com/r", "[text](https://example.com/r)"),
        ("[text][r]\n\n[r]: javascript:x", "\\[text\\]\\[r\\]"),
    ],
)
def test_links_are_rebuilt_only_for_web_and_mail_targets(source: str, expected: str) -> None:
    """http(s)/mailto links survive (re-encoded); everything else keeps only its text."""
    assert neutralise_markdown(source).strip() == expected


def test_markdown_structure_survives() -> None:
    """Headings, emphasis, lists, quotes and tables keep their markdown."""
    source = "## Title\n\n> quoted *text*\n\n- **bold** item\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert neutralise_markdown(source) == source


def test_text_escapes_cover_brackets_backticks_backslashes_and_math() -> None:
    """Characters that could start links, code, escapes or math are escaped."""
    assert neutralise_markdown("a [b] \\ ` $$x$$") == "a \\[b\\] \\\\ \\` \\$\\$x\\$\\$\n"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("\\`[]$<>{}&#;a 中"), max_size=30) | st.text(max_size=30))
def test_prose_escapes_each_character_once_whatever_its_neighbours(text: str) -> None:
    """Property: escaping by successive replacements equals mapping every character through
    one table (no replacement re-escapes what an earlier one wrote)."""
    assert escape_text(text) == text.translate(str.maketrans(dict(TEXT_ESCAPES)))


#: level-2 headings as the CommonMark rule reads them, line by line (the reference)
H2_LINE = re.compile(r"^ {0,3}##[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
HEADING_LINES = (
    *("## A", "   ## B ##", " ##\tC", "#### D", "# E", "##", "## ", "\t## F", "x ## G"),
    *("## H ## ##", "## #", "## I #J", "## K\t#\t", "## L\r", "## M ##\r", "##  ##  "),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(HEADING_LINES) | st.text(max_size=6), max_size=12).map("\n".join))
def test_feature_anchors_land_on_exactly_the_level_two_heading_lines(text: str) -> None:
    """Property: every line the line-by-line rule calls a level-2 heading gets the next anchor,
    with its text and without its closing hashes; nothing else changes."""
    count = 0

    def anchored(heading: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"## {heading[1]} {{#feature-{count}}}"

    assert with_feature_anchors(text) == H2_LINE.sub(anchored, text)


def test_labels_we_write_are_escaped_for_markdown_html_and_liquid() -> None:
    """Titles and area names render literally whatever they contain."""
    assert escape_label("A *b* [c] <d> {{e}} & f\n") == (
        "A \\*b\\* \\[c\\] &lt;d&gt; &#123;&#123;e&#125;&#125; &amp; f"
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:x",
        "data:x",
        "vbscript:x",
        "file:///etc",
        "/abs",
        "rel",
        "http://",
        "ht tp://x",
        "https://exa mple.com",
        "https://x\x00",
        "",
    ],
)
def test_safe_url_refuses_everything_but_absolute_web_and_mail(url: str) -> None:
    """Only absolute http(s) with a host, or mailto, are links we keep."""
    assert safe_url(url) is None


FRAGMENTS = (
    "<script>",
    "</script>",
    "{{",
    "}}",
    "{%",
    "%}",
    "{:",
    "`",
    "``",
    "```",
    "~~~",
    "[",
    "]",
    "(",
    ")",
    "](",
    "javascript:",
    "data:",
    "https://x.example/",
    "<",
    ">",
    "\\",
    "$$",
    "\n",
    " ",
    "!",
    "*",
    "|",
    ">",
    "-",
    "#",
    "&#123;",
    "\r",
    "\x00",
    "中文",
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=5), max_size=40).map("".join))
def test_any_text_comes_out_inert(text: str) -> None:
    """Property: whatever the model writes, the output keeps no Liquid, HTML or bad link."""
    assert_inert(neutralise_markdown(text))


def test_indented_code_from_a_model_is_shown_as_code_with_its_language() -> None:
    """Kramdown would print our entities literally inside its own indented code block, so
    indented code becomes our ``<pre>``: every character an entity, the language named."""
    output = neutralise_markdown('Snippet:\n\n    const x = {a: "b"};\n    x["c"] = `d`;\n\nAfter.')
    assert_inert(output)
    block = next(line for line in output.split("\n") if line.startswith("<pre>"))
    assert block.startswith('<pre><code class="language-js">')
    assert (
        html.unescape(block.removeprefix('<pre><code class="language-js">')).removesuffix(
            "</code></pre>"
        )
        == 'const x = {a: "b"};\nx["c"] = `d`;'
    )
    assert "    " not in output
