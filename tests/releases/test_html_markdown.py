"""Element tree → markdown: escaping, links, code, lists, tables."""

from hypothesis import given, settings
from hypothesis import strategies as st

from webplatform_digest.releases.html_markdown import MarkdownRenderer, escape_text, safe_url
from webplatform_digest.releases.html_tree import parse_html

BASE = "https://developer.chrome.com/release-notes/150"


def _md(html: str) -> str:
    renderer = MarkdownRenderer(BASE)
    return "\n\n".join(renderer.blocks(parse_html(html)))


def test_relative_and_fragment_links_become_absolute() -> None:
    """``/blog/x`` and ``#css`` are resolved against the page address."""
    text = _md('<p><a href="/blog/x">X</a> and <a href="#css">here</a></p>')
    assert text == (
        "[X](https://developer.chrome.com/blog/x) and "
        "[here](https://developer.chrome.com/release-notes/150#css)"
    )


def test_unsafe_link_targets_keep_only_their_text() -> None:
    """``javascript:``, ``data:``, ``vbscript:`` and ``mailto:`` targets are dropped."""
    for href in ("javascript:alert(1)", " JAVASCRIPT:x", "data:text/html,x", "vbscript:x"):
        assert _md(f'<p><a href="{href}">label</a></p>') == "label"
    assert safe_url("mailto:someone@example.org", BASE) is None
    assert safe_url("https://x.example/a b(c)", BASE) == "https://x.example/a%20b%28c%29"


def test_text_cannot_forge_links_markup_or_headings() -> None:
    """Markdown syntax in page text is escaped so it stays text."""
    text = _md("<p>[a](https://evil.example) &lt;b&gt; *x* `y`</p>")
    assert text == r"\[a\]\(https://evil.example) \<b\> \*x\* \`y\`"
    assert (
        _md("<p># h<br>2. item<br>- dash<br>+ plus</p>") == "\\# h\n2\\. item\n\\- dash\n\\+ plus"
    )


def test_emphasis_and_inline_code_render_with_markers() -> None:
    """Strong, emphasis and code keep their meaning; whitespace stays outside the markers."""
    text = _md("<p><strong>Date: </strong>soon, <em> very</em> <code>a `b` c</code></p>")
    assert text == "**Date:** soon, *very* ``a `b` c``"


def test_code_blocks_keep_their_text_and_language() -> None:
    """Spans inside ``<pre>`` are flattened; entities decoded; the fence outgrows backticks."""
    html = (
        '<pre syntax="JavaScript"><code><span>if</span> (a &lt; b) {\n'
        "  s = `x`;\n  md = '```';\n}\n</code></pre>"
    )
    assert _md(html) == "````javascript\nif (a < b) {\n  s = `x`;\n  md = '```';\n}\n````"
    assert _md('<pre class="prettyprint lang-css">\na { }\n</pre>') == "```css\na { }\n```"


def test_lists_nest_and_ordered_lists_keep_their_start() -> None:
    """Nested lists are indented under their item; ``start`` is honoured."""
    assert _md("<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>") == "- a\n  - b\n- c"
    assert _md('<ol start="4"><li>x</li><li>y</li></ol>') == "4. x\n5. y"


def test_notes_become_quotes_and_tables_pipe_tables() -> None:
    """``<aside>`` is a block quote; table cells escape ``|``."""
    assert _md("<aside><p><b>Note:</b> hi</p></aside>") == "> **Note:** hi"
    table = _md("<table><tr><th>a</th><th>b|c</th></tr><tr><td>1</td></tr></table>")
    assert table == "| a | b\\|c |\n| --- | --- |\n| 1 |  |"


def test_headings_record_their_level_and_plain_link_text() -> None:
    """A heading's links become text; an H1 inside the article is demoted below the header."""
    renderer = MarkdownRenderer(BASE)
    blocks = renderer.blocks(parse_html('<h1>Top</h1><h3><a href="#x">Feature</a></h3>'))
    assert blocks == ["## Top", "### Feature"]
    assert renderer.headings == [(2, "Top"), (3, "Feature")]


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_escaped_text_never_contains_an_unescaped_link_opener(text: str) -> None:
    """Whatever the page text, the escaped form has no bare ``[`` or ``<``."""
    escaped = escape_text(text)
    for index, char in enumerate(escaped):
        if char in "[<":
            assert index > 0
            assert escaped[index - 1] == "\\"
