"""Markdown primitives the reply checks share (pure): prose outside code, headings, links.

Lines inside fenced code blocks are never prose: headings, links and HTML in code samples are
the feature's content, not the reply's structure.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^\s{0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?\s*$", re.MULTILINE)
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto|javascript|data):[^>\s]+)>", re.IGNORECASE)
BARE_URL = re.compile(r"https?://[^\s<>()\[\]`\"']+", re.IGNORECASE)
_HTML_TAG = re.compile(r"<(/?[A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?/?>|<!--")
DANGEROUS = re.compile(r"\s*(javascript|vbscript|data):", re.IGNORECASE)
_THINK = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL | re.IGNORECASE)
_WRAPPED = re.compile(r"^```[A-Za-z]*[ \t]*\n(.*)\n```[ \t]*$", re.DOTALL)
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
LINK_ONLY = re.compile(
    r"^\s*(?:[-*+]\s+)?(?:\[[^\]]*\]\([^)]*\)|<[^>\s]+>|https?://\S+)"
    r"(?:\s*[|,;:·-]?\s*(?:\[[^\]]*\]\([^)]*\)|<[^>\s]+>|https?://\S+))*\s*$"
)
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")
CODE_SPAN = re.compile(r"`+([^`]+)`+")


@dataclass(frozen=True, slots=True)
class Heading:
    """A markdown heading outside code blocks."""

    level: int
    text: str


def strip_reasoning(text: str) -> str:
    """``text`` with LF line ends, without a leading think block, stripped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _THINK.sub("", text, count=1).strip()


def clean_reply(text: str) -> str:
    """Undo harmless wrapping models add: CRLF, a leading think block, a whole-reply code fence."""
    text = strip_reasoning(text)
    wrapped = _WRAPPED.match(text)
    if wrapped and "```" not in wrapped.group(1):
        text = wrapped.group(1).strip()
    return text


def prose_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` outside fenced code blocks."""
    fence: str | None = None
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0] * len(opened.group(1))
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
        else:
            yield line


def prose(text: str) -> str:
    """``text`` without fenced code blocks and without inline code spans."""
    return _INLINE_CODE.sub(" ", "\n".join(prose_lines(text)))


def headings(text: str) -> tuple[Heading, ...]:
    """The headings of a markdown text, outside code blocks."""
    found: list[Heading] = []
    for line in prose_lines(text):
        match = HEADING.match(line)
        if match:
            found.append(Heading(len(match.group(1)), match.group(2).strip()))
    return tuple(found)


def normalise_title(text: str) -> str:
    """Compare titles loosely: case, whitespace, emphasis markers and trailing dots ignored."""
    text = re.sub(r"[*_]", "", text)
    text = re.sub(r"\s+", " ", text).strip().rstrip(".:# ").strip()
    return text.casefold()


def normalise_url(url: str) -> str:
    """Compare URLs loosely: trailing punctuation and a trailing slash ignored."""
    return url.strip().rstrip(".,;:!?").rstrip("/")


def link_targets(text: str) -> set[str]:
    """Every link target in ``text`` outside code: inline, reference, autolink and bare URLs."""
    body = prose(text)
    found = set(LINK_TARGET.findall(body))
    found.update(_REFERENCE.findall(body))
    found.update(_AUTOLINK.findall(body))
    found.update(BARE_URL.findall(body))
    return {normalise_url(url) for url in found if url}


def cjk_share(text: str) -> tuple[int, float]:
    """Count of CJK characters in the prose of ``text`` and their share among all letters."""
    body = BARE_URL.sub(" ", prose(text))
    body = LINK_TARGET.sub("]", body)
    cjk = len(CJK.findall(body))
    latin = len(_LATIN.findall(body))
    return cjk, (cjk / (cjk + latin) if cjk + latin else 0.0)


def listing(items: Iterable[str], limit: int = 5) -> str:
    listed = sorted(items)
    text = ", ".join(listed[:limit])
    return text + (f" (and {len(listed) - limit} more)" if len(listed) > limit else "")


def html_tags(text: str) -> frozenset[str]:
    """Lower-case names of raw HTML tags in the prose of ``text`` (``/x`` for closing tags)."""
    return frozenset((m.group(1) or "!--").lower() for m in _HTML_TAG.finditer(prose(text)))


def sections(text: str) -> dict[str, str]:
    """Level-2 sections by their loosely normalised heading: the body up to the next level-2."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in prose_and_code_lines(text):
        match = HEADING.match(line[1]) if not line[0] else None
        if match and len(match.group(1)) <= 2:
            current = found.setdefault(normalise_title(match.group(2)), [])
            continue
        if current is not None:
            current.append(line[1])
    return {key: "\n".join(body) for key, body in found.items()}


def prose_and_code_lines(text: str) -> Iterator[tuple[bool, str]]:
    """Every line of ``text`` with whether it belongs to a fenced code block."""
    fence: str | None = None
    for line in text.split("\n"):
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0] * len(opened.group(1))
            yield True, line
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
            yield True, line
        else:
            yield False, line
