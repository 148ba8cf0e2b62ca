"""The forgiving HTML tree: implied end tags, depth cap, truncation, dropped chrome."""

from webplatform_digest.releases.html_tree import (
    MAX_DEPTH,
    Element,
    find_first,
    is_dropped,
    iter_elements,
    parse_html,
    plain_text,
)


def _tags(root: Element) -> list[str]:
    return [e.tag for e in iter_elements(root)]


def test_unclosed_paragraphs_and_list_items_close_as_browsers_do() -> None:
    """``<p>a<p>b`` makes two paragraphs; ``<li>`` closes the previous item."""
    root = parse_html("<div><p>a<p>b<ul><li>one<li>two</ul></div>")
    div = find_first(root, lambda e: e.tag == "div")
    assert div is not None
    assert [c.tag for c in div.children if isinstance(c, Element)] == ["p", "p", "ul"]
    items = [e for e in iter_elements(root) if e.tag == "li"]
    assert [plain_text(li) for li in items] == ["one", "two"]


def test_table_cells_and_rows_close_implicitly() -> None:
    """``<tr><td>a<td>b<tr><td>c`` gives two rows of two and one cells."""
    root = parse_html("<table><tr><td>a<td>b<tr><td>c</table>")
    rows = [e for e in iter_elements(root) if e.tag == "tr"]
    assert [len([c for c in r.children if isinstance(c, Element)]) for r in rows] == [2, 1]


def test_stray_end_tags_are_ignored_and_entities_decoded() -> None:
    """An end tag without a start does not close anything; ``&lt;`` becomes ``<``."""
    root = parse_html("<div>x</span>&lt;b&gt; &amp; y</div>")
    div = find_first(root, lambda e: e.tag == "div")
    assert div is not None
    assert div.closed
    assert plain_text(div) == "x<b> & y"


def test_an_element_cut_off_by_the_end_of_input_is_not_closed() -> None:
    """A truncated download leaves the article open, which the converter detects."""
    root = parse_html("<main><article><h2>t</h2><p>half a sent")
    article = find_first(root, lambda e: e.tag == "article")
    assert article is not None
    assert not article.closed
    whole = find_first(parse_html("<main><article><p>x</main>"), lambda e: e.tag == "article")
    assert whole is not None
    assert whole.closed


def test_nesting_deeper_than_the_cap_is_flattened_not_a_crash() -> None:
    """Ten thousand nested divs parse, stay within the depth cap, and keep their text."""
    depth = 10_000
    root = parse_html("<div>" * depth + "deep text" + "</div>" * depth + "<p>after</p>")
    assert len(_tags(root)) <= MAX_DEPTH + 1
    assert "deep text" in plain_text(root)
    assert find_first(root, lambda e: e.tag == "p") is not None


def test_scripts_styles_and_devsite_widgets_are_dropped() -> None:
    """Script text never counts as page text; DevSite widgets other than code are chrome."""
    root = parse_html(
        "<div><script>var a = '<p>no</p>';</script><style>p{}</style>"
        "<devsite-feedback>Send</devsite-feedback><devsite-code><pre>kept</pre></devsite-code>"
        "<span class='nocontent'>crumbs</span><p hidden>h</p><p aria-hidden='true'>a</p>"
        "<p style='display: none'>n</p> visible</div>"
    )
    assert plain_text(root) == "kept visible"
    assert [e for e in iter_elements(root) if e.tag == "p" and not is_dropped(e)] == []


def test_find_first_does_not_look_inside_scripts_or_templates() -> None:
    """An ``<article>`` written inside a template is not the page's article."""
    root = parse_html("<template><article>fake</article></template><main>real</main>")
    assert find_first(root, lambda e: e.tag == "article") is None
    assert find_first(root, lambda e: e.tag == "main") is not None


def test_plain_text_can_keep_whitespace_for_code() -> None:
    """``preserve`` keeps line breaks and indentation; ``<br>`` is a newline."""
    root = parse_html("<pre>  a\n    b<br>c</pre>")
    pre = find_first(root, lambda e: e.tag == "pre")
    assert pre is not None
    assert plain_text(pre, preserve=True) == "  a\n    b\nc"
    assert plain_text(pre) == "a b c"
