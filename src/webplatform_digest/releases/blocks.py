"""The block structure of a release-note page (pure): preamble, H2 blocks, H3 sub-blocks.

Only what release notes need of CommonMark is recognised: ATX headings (``#`` … ``######``),
fenced code (backticks or tildes) and indented code (four spaces after a blank line). Headings
inside code are text. Setext headings are not recognised. Everything from the site footer
(licence notice, "Last updated …", the feedback widget data) to the end is dropped.

Raises ``ParseError`` for the one defect that would silently swallow content: a fenced code
block that is never closed (the error names its opening line).
"""

import re
from dataclasses import dataclass, field

from webplatform_digest.errors import ParseError

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}(?=[^`]*$)|~{3,})")
_FENCE_CLOSE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+$")
_FOOTER = re.compile(
    r"^[*_ ]*(?:Except as otherwise noted, the content of this page is licensed"
    r"|Last updated \d{4}-\d{2}-\d{2}"
    r"|\[\[\[\"Easy to understand\")"
)
_RULE = re.compile(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")


@dataclass(slots=True)
class Line:
    """One source line with what the scanner learnt about it."""

    number: int
    text: str
    code: bool = False
    level: int = 0  # heading level, 0 for a non-heading line
    heading: str = ""


@dataclass(slots=True)
class SubBlock:
    """An H3 heading and the lines up to the next H1–H3 (H4+ stay inside)."""

    head: Line
    body: list[Line] = field(default_factory=list)


@dataclass(slots=True)
class Block:
    """An H2 (or a later H1) and what follows it; ``head`` is None for H3s before any H2."""

    head: Line | None
    intro: list[Line] = field(default_factory=list)
    subs: list[SubBlock] = field(default_factory=list)

    @property
    def title(self) -> str | None:
        """The heading text, or None for the orphan block."""
        return self.head.heading if self.head is not None else None


@dataclass(slots=True)
class Page:
    """A scanned page: the lines before the first H2/H3, then the blocks."""

    preamble: list[Line]
    blocks: list[Block]


def scan_page(text: str, *, source: str = "<text>") -> Page:
    """Split normalised markdown into preamble and blocks.

    Raises:
        ParseError: a fenced code block is never closed.
    """
    lines = scan_lines(text.split("\n"), source=source)
    preamble: list[Line] = []
    blocks: list[Block] = []
    for line in lines:
        if line.level in (1, 2) and (blocks or line.level == 2):
            blocks.append(Block(head=line))
        elif line.level == 3:
            if not blocks:
                blocks.append(Block(head=None))
            blocks[-1].subs.append(SubBlock(head=line))
        elif not blocks:
            preamble.append(line)
        elif blocks[-1].subs:
            blocks[-1].subs[-1].body.append(line)
        else:
            blocks[-1].intro.append(line)
    return Page(preamble, blocks)


def scan_lines(raw: list[str], *, source: str = "<text>") -> list[Line]:
    """Mark code lines and headings; stop at the site footer.

    Raises:
        ParseError: a fenced code block is never closed.
    """
    out: list[Line] = []
    fence: tuple[str, int, int] | None = None  # (fence char, fence length, opening line)
    prev_blank, indented = True, False
    for number, text in enumerate(raw, 1):
        if fence is not None:
            out.append(Line(number, text, code=True))
            if _closes(text, fence):
                fence = None
            continue
        if not text.strip():
            out.append(Line(number, text, code=indented))
            prev_blank = True
            continue
        opened = _FENCE_OPEN.match(text)
        if opened:
            fence = (opened.group(1)[0], len(opened.group(1)), number)
            out.append(Line(number, text, code=True))
            prev_blank, indented = False, False
            continue
        if (prev_blank or indented) and _indent(text) >= 4:
            out.append(Line(number, text, code=True))
            prev_blank, indented = False, True
            continue
        prev_blank, indented = False, False
        if _FOOTER.match(text):
            break
        out.append(_text_line(number, text))
    if fence is not None:
        raise ParseError("fenced code block is never closed", source=source, line=fence[2])
    return out


def _closes(text: str, fence: tuple[str, int, int]) -> bool:
    closing = _FENCE_CLOSE.match(text)
    if closing is None:
        return False
    marks = closing.group(1)
    return marks[0] == fence[0] and len(marks) >= fence[1]


def _indent(text: str) -> int:
    expanded = text.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))


def _text_line(number: int, text: str) -> Line:
    match = _HEADING.match(text)
    if match is None:
        return Line(number, text)
    title = _CLOSING_HASHES.sub("", match.group(2) or "").strip()
    if not title:
        return Line(number, text)  # an empty heading carries nothing: keep it as text
    return Line(number, text, level=len(match.group(1)), heading=title)


def is_blank(lines: list[Line]) -> bool:
    """True if every line is whitespace only."""
    return all(not line.text.strip() for line in lines)


def body_text(lines: list[Line]) -> str:
    """The lines joined, without leading/trailing blank lines and trailing horizontal rules."""
    start, end = 0, len(lines)
    while start < end and not lines[start].text.strip():
        start += 1
    while end > start and (not lines[end - 1].text.strip() or _is_rule(lines[end - 1])):
        end -= 1
    return "\n".join(line.text.rstrip() for line in lines[start:end])


def _is_rule(line: Line) -> bool:
    return not line.code and bool(_RULE.match(line.text))


def prose(lines: list[Line]) -> list[str]:
    """The texts of the non-code lines (where links are looked for)."""
    return [line.text for line in lines if not line.code]
