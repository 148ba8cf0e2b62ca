"""Element tree → markdown: the inline and block rules of the release-note format (pure).

Output is plain CommonMark with no raw HTML: text is escaped (``[``, ``]``, ``<``, ``>``, ``*``,
backticks, backslashes, and markers at line starts), so page text can never turn into a link,
markup or a heading; links keep only absolute ``http(s)`` targets; code keeps its exact text in
fences long enough to hold any backticks inside it.
"""

import re
from urllib.parse import urljoin, urlsplit

from webplatform_digest.releases.html_tree import (
    Element,
    classes,
    is_dropped,
    iter_elements,
    plain_text,
)

_BR = "\x00"  # hard line break inside a paragraph; text nodes never contain NUL
_INLINE = frozenset(
    [
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "br",
        "cite",
        "code",
        "data",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "ins",
        "kbd",
        "label",
        "mark",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
        "wbr",
    ]
)
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_TEXT_ESCAPES = re.compile(r"([\\`*\[\]<>])")
_LINE_START = re.compile(r"^(?:([0-9]{1,9})(?=[.)](?:\s|$))|(?=[#=~+-]))")
_WHITESPACE = re.compile(r"[ \t\n\r\f\v\xa0]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LANGUAGE = re.compile(r"^(?:lang|language)-([A-Za-z0-9+#._-]{1,20})$")


def escape_text(text: str) -> str:
    """Escape characters that markdown would read as markup (links, code, HTML, emphasis)."""
    escaped = _TEXT_ESCAPES.sub(r"\\\1", _CONTROL.sub("", text))
    return escaped.replace("\\](", "\\]\\(")  # text that would read as a link target


def safe_url(href: str, base_url: str) -> str | None:
    """``href`` made absolute against ``base_url``; None unless it is an http(s) URL."""
    cleaned = _CONTROL.sub("", href).strip()
    if not cleaned:
        return None
    parts = urlsplit(urljoin(base_url, cleaned))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    url = parts.geturl()
    for raw, encoded in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(raw, encoded)
    return url


def _wrap(inner: str, marker: str) -> str:
    """Put ``marker`` around ``inner`` while keeping its outer whitespace outside."""
    core = inner.strip(" \t\n\r\f\v\xa0" + _BR)
    if not core:
        return inner
    start = inner.index(core[0])
    end = start + len(core)
    return f"{inner[:start]}{marker}{core}{marker}{inner[end:]}"


def _code_span(text: str) -> str:
    text = _WHITESPACE.sub(" ", _CONTROL.sub("", text))
    if not text.strip():
        return text
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _escape_start(match: re.Match[str]) -> str:
    """``1.`` → ``1\\.`` (not a list), ``#`` → ``\\#`` (not a heading), and so on."""
    return f"{match.group(1)}\\" if match.group(1) else "\\"


def _paragraph(raw: str, *, escape_starts: bool = True) -> str:
    """Collapse whitespace, split on hard breaks, escape block markers at line starts."""
    lines = [_WHITESPACE.sub(" ", part).strip() for part in raw.split(_BR)]
    if escape_starts:
        lines = [_LINE_START.sub(_escape_start, line, count=1) for line in lines]
    return "\n".join(line for line in lines if line)


class MarkdownRenderer:
    """Renders an element tree as markdown blocks; records the headings it wrote."""

    def __init__(self, base_url: str, *, skip: Element | None = None) -> None:
        self._base_url = base_url
        self._skip = skip
        self.headings: list[tuple[int, str]] = []

    def blocks(self, node: Element) -> list[str]:
        """Markdown blocks of ``node``'s children; inline runs become paragraphs."""
        out: list[str] = []
        run: list[str] = []
        for child in node.children:
            if isinstance(child, str):
                run.append(escape_text(child))
            elif child is self._skip or is_dropped(child):
                continue
            elif child.tag in _INLINE:
                run.append(self.inline(child))
            else:
                self._flush(run, out)
                out.extend(block for block in self.block(child) if block)
        self._flush(run, out)
        return out

    @staticmethod
    def _flush(run: list[str], out: list[str]) -> None:
        text = _paragraph("".join(run))
        if text:
            out.append(text)
        run.clear()

    def block(self, element: Element) -> list[str]:
        """Markdown blocks of one block-level element."""
        tag = element.tag
        if tag in _HEADINGS:
            return [self._heading(element)]
        if tag == "pre":
            return [self._code_block(element)]
        if tag in ("ul", "ol", "menu"):
            return [self._list(element, ordered=tag == "ol")]
        if tag in ("blockquote", "aside"):
            return [self._quote(element)]
        if tag == "table":
            return [self._table(element)]
        if tag == "hr":
            return ["---"]
        return self.blocks(element)

    def inline(self, element: Element, *, links: bool = True) -> str:
        """Inline markdown of one element (block elements inside are flattened)."""
        if is_dropped(element):
            return ""
        tag = element.tag
        if tag == "br":
            return _BR
        if tag == "a":
            return self._link(element, links=links)
        if tag in ("code", "kbd", "samp", "tt"):
            return _code_span(plain_text(element))
        if tag in ("strong", "b"):
            return _wrap(self.inline_children(element, links=links), "**")
        if tag in ("em", "i", "cite", "var", "dfn"):
            return _wrap(self.inline_children(element, links=links), "*")
        inner = self.inline_children(element, links=links)
        return inner if tag in _INLINE else f" {inner} "

    def inline_children(self, element: Element, *, links: bool = True) -> str:
        """Inline markdown of all children of ``element``."""
        return "".join(
            escape_text(child) if isinstance(child, str) else self.inline(child, links=links)
            for child in element.children
        )

    def _link(self, element: Element, *, links: bool) -> str:
        label = self.inline_children(element, links=False)
        url = safe_url(element.attrs.get("href", ""), self._base_url)
        if not label.strip() or url is None or not links:
            return label
        core = label.strip()
        start = label.index(core[0])
        return f"{label[:start]}[{core}]({url}){label[start + len(core) :]}"

    def _heading(self, element: Element) -> str:
        raw = self.inline_children(element, links=False).replace(_BR, " ")
        text = _paragraph(raw, escape_starts=False)
        if not text:
            return ""
        level = max(2, int(element.tag[1]))  # the document's only H1 is our header
        self.headings.append((level, text))
        return f"{'#' * level} {text}"

    def _code_block(self, element: Element) -> str:
        text = _CONTROL.sub("", plain_text(element, preserve=True).replace("\r\n", "\n"))
        text = text.replace("\r", "\n")
        text = text.removeprefix("\n").rstrip()
        if not text.strip():
            return ""
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        fence = "`" * max(3, longest + 1)
        return f"{fence}{_code_language(element)}\n{text}\n{fence}"

    def _list(self, element: Element, *, ordered: bool) -> str:
        number = _list_start(element)
        items: list[str] = []
        for child in element.children:
            if isinstance(child, str) or is_dropped(child):
                continue
            blocks = self.blocks(child) if child.tag == "li" else self.block(child)
            if not blocks:
                continue
            marker = f"{number}." if ordered else "-"
            number += 1
            items.append(_indent_item(marker, blocks))
        return "\n".join(items)

    def _quote(self, element: Element) -> str:
        text = "\n\n".join(self.blocks(element))
        return "\n".join(f"> {line}" if line else ">" for line in text.split("\n")) if text else ""

    def _table(self, element: Element) -> str:
        rows: list[list[str]] = []
        for row in iter_elements(element):
            if row.tag != "tr":
                continue
            cells = [c for c in row.children if isinstance(c, Element) and c.tag in ("td", "th")]
            rows.append([self._cell(cell) for cell in cells])
        rows = [row for row in rows if any(row)]
        if not rows:
            return ""
        width = max(len(row) for row in rows)
        lines = ["| " + " | ".join(row + [""] * (width - len(row))) + " |" for row in rows]
        lines.insert(1, "|" + " --- |" * width)
        return "\n".join(lines)

    def _cell(self, cell: Element) -> str:
        text = _WHITESPACE.sub(" ", self.inline_children(cell).replace(_BR, " ")).strip()
        return text.replace("|", "\\|")


def _indent_item(marker: str, blocks: list[str]) -> str:
    indent = " " * (len(marker) + 1)
    text = blocks[0]
    for block in blocks[1:]:
        nested_list = block.startswith(("- ", "1. ")) or re.match(r"[0-9]+\. ", block)
        text += ("\n" if nested_list else "\n\n") + block
    lines = text.split("\n")
    rest = [f"{indent}{line}" if line else "" for line in lines[1:]]
    return "\n".join([f"{marker} {lines[0]}", *rest])


def _list_start(element: Element) -> int:
    start = element.attrs.get("start", "1").strip()
    return int(start) if start.isdigit() and len(start) <= 6 else 1


def _code_language(pre: Element) -> str:
    syntax = pre.attrs.get("syntax", "").strip().lower()
    if re.fullmatch(r"[a-z0-9+#._-]{1,20}", syntax):
        return syntax
    candidates = [pre] + [c for c in pre.children if isinstance(c, Element) and c.tag == "code"]
    for element in candidates:
        for token in classes(element):
            match = _LANGUAGE.match(token)
            if match:
                return match.group(1).lower()
    return ""
