"""Checks an LLM reply must pass before it becomes a digest (pure).

English: every feature title is a level-2 heading, links come only from the input data, no front
matter, no level-1 heading, no raw HTML, bounded length. Chinese: the same heading levels in the
same order as the accepted English, the same URL set, enough CJK text.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?\s*$", re.MULTILINE)
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto|javascript|data):[^>\s]+)>", re.IGNORECASE)
_BARE_URL = re.compile(r"https?://[^\s<>()\[\]`\"']+", re.IGNORECASE)
_HTML_TAG = re.compile(r"<(/?[A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?/?>|<!--")
_DANGEROUS = re.compile(r"\s*(javascript|vbscript|data):", re.IGNORECASE)
_THINK = re.compile(r"^\s*<think>.*?</think>\s*", re.DOTALL | re.IGNORECASE)
_WRAPPED = re.compile(r"^```[A-Za-z]*[ \t]*\n(.*)\n```[ \t]*$", re.DOTALL)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")

#: tags never accepted, even when the input mentions them unquoted
_NEVER_TAGS = frozenset(
    {"script", "style", "iframe", "frame", "object", "embed", "form", "link", "meta", "base"}
)
#: least share of CJK among the letters of a translation's prose (code and URLs excluded)
MIN_CJK_SHARE = 0.3
#: least number of CJK characters in a translation
MIN_CJK_CHARS = 8
#: a reply longer than this is rejected whatever the feature count
HARD_MAX_CHARS = 120_000


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking one reply: the cleaned markdown and what is wrong with it."""

    markdown: str
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the reply can be accepted."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class Heading:
    """A markdown heading outside code blocks."""

    level: int
    text: str


def clean_reply(text: str) -> str:
    """Undo harmless wrapping models add: CRLF, a leading think block, a whole-reply code fence."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _THINK.sub("", text, count=1).strip()
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
        match = _HEADING.match(line)
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
    found = set(_LINK_TARGET.findall(body))
    found.update(_REFERENCE.findall(body))
    found.update(_AUTOLINK.findall(body))
    found.update(_BARE_URL.findall(body))
    return {normalise_url(url) for url in found if url}


def cjk_share(text: str) -> tuple[int, float]:
    """Count of CJK characters in the prose of ``text`` and their share among all letters."""
    body = _BARE_URL.sub(" ", prose(text))
    body = _LINK_TARGET.sub("]", body)
    cjk = len(_CJK.findall(body))
    latin = len(_LATIN.findall(body))
    return cjk, (cjk / (cjk + latin) if cjk + latin else 0.0)


def _shown(items: Iterable[str], limit: int = 5) -> str:
    listed = sorted(items)
    text = ", ".join(listed[:limit])
    return text + (f" (and {len(listed) - limit} more)" if len(listed) > limit else "")


def html_tags(text: str) -> frozenset[str]:
    """Lower-case names of raw HTML tags in the prose of ``text`` (``/x`` for closing tags)."""
    return frozenset((m.group(1) or "!--").lower() for m in _HTML_TAG.finditer(prose(text)))


def common_problems(
    text: str, max_chars: int, tolerated: frozenset[str] = frozenset()
) -> list[str]:
    """Problems every digest reply can have, whatever its language.

    ``tolerated`` tags appear unquoted in the input itself (a title such as "Allow <use> to …"),
    so a reply repeating them is not rejected; dangerous tags never are tolerated.
    """
    problems: list[str] = []
    if not text.strip():
        return ["the reply is empty"]
    if text.startswith("---"):
        problems.append("the reply starts with YAML front matter; output Markdown only")
    if len(text) > min(max_chars, HARD_MAX_CHARS):
        problems.append(f"the reply is too long ({len(text)} characters, limit {max_chars})")
    if any(_DANGEROUS.match(url) for url in link_targets(text)):
        problems.append("the reply links to a javascript:, vbscript: or data: URL")
    tags = {t for t in html_tags(text) if t.lstrip("/") in _NEVER_TAGS or t not in tolerated}
    if tags:
        problems.append(
            f"the reply contains raw HTML ({_shown(f'<{t}>' for t in tags)}); "
            "write element names in inline code such as `<dialog>`"
        )
    if any(h.level == 1 for h in headings(text)):
        problems.append("the reply contains a level-1 heading (# ...); use ## for features only")
    return problems


def check_english(
    reply: str, titles: tuple[str, ...], allowed_urls: set[str], *, max_chars: int
) -> Verdict:
    """Check an English digest reply against the feature titles and the input URLs."""
    text = clean_reply(reply)
    problems = common_problems(text, max_chars, html_tags("\n".join(titles)))
    if problems == ["the reply is empty"]:
        return Verdict(text, tuple(problems))
    problems += _heading_problems(text, titles)
    allowed = {normalise_url(u) for u in allowed_urls}
    unknown = link_targets(text) - allowed
    if unknown:
        problems.append(f"the reply links to URLs that are not in the input: {_shown(unknown)}")
    return Verdict(text, tuple(problems))


def _heading_problems(text: str, titles: tuple[str, ...]) -> list[str]:
    wanted = {normalise_title(t): t for t in titles}
    seen: dict[str, int] = {}
    extra: list[str] = []
    for heading in headings(text):
        if heading.level != 2:
            continue
        key = normalise_title(heading.text)
        if key in wanted:
            seen[key] = seen.get(key, 0) + 1
        else:
            extra.append(heading.text)
    problems: list[str] = []
    missing = [title for key, title in wanted.items() if key not in seen]
    if missing:
        problems.append(f"these features have no '## <title>' heading: {_shown(missing, 8)}")
    doubled = [wanted[key] for key, count in seen.items() if count > 1]
    if doubled:
        problems.append(f"these feature headings appear more than once: {_shown(doubled)}")
    if extra:
        problems.append(
            "these level-2 headings are not feature titles from the input: " + _shown(extra)
        )
    return problems


def check_chinese(reply: str, english: str, *, max_chars: int) -> Verdict:
    """Check a Chinese translation against the accepted English digest."""
    text = clean_reply(reply)
    problems = common_problems(text, max_chars, html_tags(english))
    if problems == ["the reply is empty"]:
        return Verdict(text, tuple(problems))
    source_levels = [h.level for h in headings(english)]
    levels = [h.level for h in headings(text)]
    if levels != source_levels:
        problems.append(
            f"the heading structure differs from the English source: {len(levels)} headings "
            f"at levels {_levels(levels)}, expected {len(source_levels)} at levels "
            f"{_levels(source_levels)}"
        )
    source_urls, urls = link_targets(english), link_targets(text)
    if urls != source_urls:
        missing, added = source_urls - urls, urls - source_urls
        detail = "; ".join(
            part
            for part in (
                f"missing {_shown(missing)}" if missing else "",
                f"not in the source {_shown(added)}" if added else "",
            )
            if part
        )
        problems.append(f"the URLs differ from the English source: {detail}")
    count, share = cjk_share(text)
    if count < MIN_CJK_CHARS or share < MIN_CJK_SHARE:
        problems.append(
            f"too little Chinese text ({count} CJK characters, {share:.0%} of the letters; "
            f"need at least {MIN_CJK_SHARE:.0%}); translate the prose into Simplified Chinese"
        )
    return Verdict(text, tuple(problems))


def _levels(levels: list[int]) -> str:
    shown = ",".join(str(level) for level in levels[:12])
    return f"[{shown}{',…' if len(levels) > 12 else ''}]"
