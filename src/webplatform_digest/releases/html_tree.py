"""A small, forgiving HTML element tree built with the stdlib parser (pure).

Enough of the HTML tree-construction rules to read server-rendered pages faithfully: void
elements, paragraphs and list items closed implicitly, stray end tags ignored, and a depth cap
so a hostile page of nested elements cannot exhaust the stack. Each element records whether its
end tag (or an ancestor's) was seen, which tells a complete page from a truncated download.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser

#: nesting deeper than this is flattened into the element at the cap
MAX_DEPTH = 160

_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_CLOSES_P = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "details",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "ul",
    ]
)
_SCOPE = _CLOSES_P | {"li", "td", "th", "body", "html", "#root"}
_IMPLIED = {
    "li": ({"li"}, {"ul", "ol", "menu"}),
    "dt": ({"dt", "dd"}, {"dl"}),
    "dd": ({"dt", "dd"}, {"dl"}),
    "tr": ({"tr"}, {"table", "thead", "tbody", "tfoot"}),
    "td": ({"td", "th"}, {"tr", "table"}),
    "th": ({"td", "th"}, {"tr", "table"}),
    "option": ({"option"}, {"select", "datalist"}),
}

#: elements whose content is never page text
DROPPED_TAGS = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "svg",
        "math",
        "canvas",
        "video",
        "audio",
        "img",
        "picture",
        "source",
        "track",
        "button",
        "input",
        "select",
        "textarea",
        "form",
        "nav",
        "footer",
        "header",
        "head",
        "title",
        "meta",
        "link",
        "base",
        "dialog",
        "map",
        "area",
    ]
)
#: DevSite custom elements that hold article content (every other ``devsite-*`` is chrome)
CONTENT_DEVSITE_TAGS = frozenset(
    {"devsite-code", "devsite-content", "devsite-selector", "devsite-expandable"}
)
#: classes DevSite puts on navigation, widgets and other non-content parts
DROPPED_CLASSES = frozenset(
    {
        "nocontent",
        "devsite-article-meta",
        "devsite-breadcrumb-list",
        "devsite-page-title-meta",
        "devsite-actions",
        "devsite-content-data",
        "devsite-floating-action-buttons",
    }
)
#: never searched for content (their text is not markup)
OPAQUE_TAGS = frozenset({"script", "style", "template", "noscript", "iframe", "svg", "math"})


@dataclass(slots=True, eq=False)
class Element:
    """One element: tag, attributes, children (elements and text), and whether it closed."""

    tag: str
    attrs: dict[str, str]
    children: list["Element | str"] = field(default_factory=list["Element | str"])
    closed: bool = False


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {})
        self._stack: list[Element] = [self.root]
        self._overflow = 0  # start tags ignored past MAX_DEPTH, awaiting their end tags

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._close_implied(tag)
        element = Element(tag, {name: value or "" for name, value in attrs})
        if tag in _VOID:
            element.closed = True
            self._stack[-1].children.append(element)
        elif len(self._stack) >= MAX_DEPTH:
            self._overflow += 1
        else:
            self._stack[-1].children.append(element)
            self._stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if self._overflow:
            self._overflow -= 1
            return
        for index in range(len(self._stack) - 1, 0, -1):
            if self._stack[index].tag == tag:
                for element in self._stack[index:]:
                    element.closed = True
                del self._stack[index:]
                return

    def handle_data(self, data: str) -> None:
        children = self._stack[-1].children
        if children and isinstance(children[-1], str):
            children[-1] += data
        else:
            children.append(data)

    def _close_implied(self, tag: str) -> None:
        if tag in _CLOSES_P:
            self._close_open({"p"}, _SCOPE - {"p"})
        if tag in _IMPLIED:
            names, boundary = _IMPLIED[tag]
            self._close_open(names, boundary | {"#root"})

    def _close_open(
        self, names: set[str] | frozenset[str], boundary: frozenset[str] | set[str]
    ) -> None:
        for index in range(len(self._stack) - 1, 0, -1):
            current = self._stack[index].tag
            if current in names:
                for element in self._stack[index:]:
                    element.closed = True
                del self._stack[index:]
                return
            if current in boundary:
                return


def parse_html(html: str) -> Element:
    """Parse a whole document into a tree under a synthetic ``#root`` element."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    builder.root.closed = True
    return builder.root


def classes(element: Element) -> frozenset[str]:
    """The element's class tokens."""
    return frozenset(element.attrs.get("class", "").split())


def is_dropped(element: Element) -> bool:
    """Whether an element is site chrome, hidden, or unsafe, and must not be rendered."""
    tag = element.tag
    if tag in DROPPED_TAGS:
        return True
    if tag.startswith("devsite-") and tag not in CONTENT_DEVSITE_TAGS:
        return True
    attrs = element.attrs
    if "hidden" in attrs or attrs.get("aria-hidden", "").lower() == "true":
        return True
    if "display:none" in attrs.get("style", "").replace(" ", "").lower():
        return True
    return not classes(element).isdisjoint(DROPPED_CLASSES)


def iter_elements(root: Element, *, opaque: frozenset[str] = OPAQUE_TAGS) -> Iterator[Element]:
    """Every element under ``root`` in document order (not descending into ``opaque`` tags)."""
    stack: list[Element] = [root]
    while stack:
        element = stack.pop()
        if element is not root:
            yield element
        if element.tag in opaque:
            continue
        stack.extend(child for child in reversed(element.children) if isinstance(child, Element))


def find_first(
    root: Element,
    predicate: Callable[[Element], bool],
    *,
    opaque: frozenset[str] = OPAQUE_TAGS,
) -> Element | None:
    """The first element under ``root`` (document order) that satisfies ``predicate``."""
    return next((e for e in iter_elements(root, opaque=opaque) if predicate(e)), None)


def plain_text(element: Element, *, preserve: bool = False, keep_dropped: bool = False) -> str:
    """The text of ``element``: ``<br>`` as a newline, dropped parts skipped unless asked.

    With ``preserve`` the whitespace is kept as written (for code blocks).
    """
    parts: list[str] = []
    stack: list[Element | str] = [element]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            parts.append(node)
        elif node.tag == "br":
            parts.append("\n")
        elif node is element or keep_dropped or not is_dropped(node):
            stack.extend(reversed(node.children))
    text = "".join(parts)
    return text if preserve else " ".join(text.split())
