"""Deterministic repair of near-miss LLM replies before the checks (pure).

Models often say the right thing in a slightly wrong shape: a friendly lead-in, a whole-reply
code fence, ``### 1. **Caret shapes:**`` instead of ``## Caret shapes``, an invented
``## Summary``, a link to a page the input never mentioned. Each function here undoes such
slips and names what it did, so the digest records its repairs. Repair never invents content:
every heading it writes is a feature title (or a level change of the reply's own heading),
every URL it adds comes from the input, and anything it cannot map unambiguously is left for
the checks to reject. Dangerous links and raw HTML are never touched: the checks refuse them.

A reply that already has the canonical shape comes back unchanged, and repairing a repaired
reply changes nothing more.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from webplatform_digest.digest.markdown import clean_reply, normalise_url, strip_reasoning

#: every kind of repair, in the order they are reported (also the metric label values)
REPAIR_KINDS = (
    "code_fence",
    "chatter",
    "title_heading",
    "heading_text",
    "heading_level",
    "extra_section",
    "unknown_link",
    "links_restored",
)

_FENCE_LINE = re.compile(r"^\s{0,3}(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_MD_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>", re.IGNORECASE)
_BARE_URL = re.compile(r"https?://[^\s<>()\[\]`\"']+", re.IGNORECASE)
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?\s*$")
_LINK_BULLET = re.compile(r"^\s*[-*+]\s+\[[^\]]*\]\(\s*<?([^)\s>]+)")
_EMPTY_BULLET = re.compile(r"^\s*[-*+]\s*[:：,;.]?\s*$")

# a short first paragraph that talks about the reply rather than the release
_LEAD_IN = re.compile(
    r"^(?:(?:sure|certainly|of course|okay|ok|absolutely|great|alright|好的|当然|没问题)"
    r"(?:\b|(?=[，,！!。.]))[!,.:，！。]?\s*)?"
    r"(?:(?:here(?:'s| is| are)|below is|below are|the following is|please find)\b.*[:：]"
    r"|(?:以下是|下面是|这是).{0,60}(?:翻译|译文|摘要|中文).{0,20}[:：。]?)?$",
    re.IGNORECASE | re.DOTALL,
)
# a short last paragraph addressed to the reader of the reply, not of the digest
_CLOSING = re.compile(
    r"^(?:i hope|hope this|let me know|feel free|please let me know|is there anything|"
    r"happy to help|if you (?:have|need|would like|want)\b.*\b(?:question|help|adjust|"
    r"change|more|detail)|(?:note|disclaimer)\s*:.*\b(?:digest|summary|translation|generated)"
    r"|希望|如果您|如需|如有|请告诉|有任何)",
    re.IGNORECASE | re.DOTALL,
)
_CHATTER_MAX = 300
_NUMBERING = re.compile(r"^(?:(?:feature|功能)\s*)?(?:\d+|[ivx]+|[a-z])[.):、]\s+", re.IGNORECASE)
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "「": '"', "」": '"'})
# level-2 headings models add around or after the features: drop the heading line
_WRAPPERS = re.compile(
    r"^(?:overview|introduction|summary|conclusion|conclusions|features|changes|"
    r"new features|key changes|highlights|details|feature details|release notes|"
    r"key takeaways|takeaways|final thoughts|wrap-up|in summary|"
    r"概述|简介|总结|小结|结论|功能|新功能|变更|更新|主要变更|要点)$",
    re.IGNORECASE,
)
# of those, the ones whose content is a recap: dropped with the heading after the features
_RECAPS = re.compile(
    r"^(?:summary|conclusion|conclusions|key takeaways|takeaways|final thoughts|wrap-up|"
    r"in summary|总结|小结|结论|要点)$",
    re.IGNORECASE,
)
#: rounds of the repair pipeline at most (each round only removes or canonicalises)
_MAX_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class Repair:
    """A reply after repair, and the kinds of repair applied (empty when nothing changed)."""

    markdown: str
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Line:
    index: int
    level: int
    text: str


def repair_english(reply: str, titles: tuple[str, ...], allowed_urls: Iterable[str]) -> Repair:
    """Repair an English digest reply against its feature titles and input URLs."""
    allowed = frozenset(normalise_url(u) for u in allowed_urls)
    return _run(
        reply,
        (
            _fixed("code_fence", _unwrap_fence),
            _fixed("chatter", _strip_chatter),
            _fixed("title_heading", lambda t: _drop_title_heading(t, titles)),
            lambda t: _map_headings(t, titles),
            _fixed("extra_section", lambda t: _drop_extra_sections(t, titles)),
            _fixed("unknown_link", lambda t: _unlink_unknown(t, allowed)),
        ),
    )


def repair_translation(reply: str, english: str) -> Repair:
    """Repair a translation (any language) against the accepted English digest."""
    allowed = frozenset(normalise_url(u) for u in _all_urls(english))
    levels = tuple(h.level for h in _headings(english))
    return _run(
        reply,
        (
            _fixed("code_fence", _unwrap_fence),
            _fixed("chatter", _strip_chatter),
            _fixed("title_heading", lambda t: _drop_translation_extras(t, levels)),
            _fixed("heading_level", lambda t: _align_levels(t, levels)),
            _fixed("unknown_link", lambda t: _unlink_unknown(t, allowed)),
            _fixed("links_restored", lambda t: _restore_links(t, english)),
        ),
    )


#: the name the Chinese-only pipeline used
repair_chinese = repair_translation

_Step = Callable[[str], tuple[str, frozenset[str]]]


def _fixed(kind: str, step: Callable[[str], str]) -> _Step:
    """A step that always reports ``kind`` when it changes the text."""

    def run(text: str) -> tuple[str, frozenset[str]]:
        return step(text), frozenset({kind})

    return run


def _run(reply: str, steps: tuple[_Step, ...]) -> Repair:
    """Apply the steps until nothing changes; each step that changed the text names its kinds."""
    text = clean_reply(reply)
    # the checks' own cleaning unwraps a plain fence: still a slip worth recording
    kinds = {"code_fence"} if text != strip_reasoning(reply) else set[str]()
    for _ in range(_MAX_ROUNDS):
        before = text
        for step in steps:
            changed, named = step(text)
            if changed != text:
                changed = clean_reply(_tidy(changed))
            if changed != text:
                kinds.update(named)
                text = changed
        if text == before:
            break
    return Repair(text, tuple(k for k in REPAIR_KINDS if k in kinds))


# Lines and headings -------------------------------------------------------------------------


def _code_mask(lines: list[str]) -> list[bool]:
    """For each line, whether it belongs to a fenced code block (fence lines included)."""
    mask: list[bool] = []
    fence: str | None = None
    for line in lines:
        opened = _FENCE_LINE.match(line)
        if fence is None and opened:
            fence = opened.group(1)[0] * len(opened.group(1))
            mask.append(True)
        elif fence is not None:
            mask.append(True)
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
        else:
            mask.append(False)
    return mask


def _heading_lines(lines: list[str]) -> list[_Line]:
    found: list[_Line] = []
    for index, (line, code) in enumerate(zip(lines, _code_mask(lines), strict=True)):
        match = None if code else _HEADING.match(line)
        if match:
            found.append(_Line(index, len(match.group(1)), match.group(2).strip()))
    return found


def _tidy(text: str) -> str:
    """Collapse the blank lines a removal left behind (outside code blocks)."""
    lines = text.split("\n")
    out: list[str] = []
    for line, code in zip(lines, _code_mask(lines), strict=True):
        if not code and not line.strip() and out and not out[-1].strip():
            continue
        out.append(line)
    return "\n".join(out)


def _headings(text: str) -> list[_Line]:
    return _heading_lines(text.split("\n"))


def loose_title(text: str) -> str:
    """A heading or title compared loosely: numbering, emphasis, code marks, quotes, case,
    whitespace and trailing punctuation ignored."""
    text = text.translate(_QUOTES)
    for _ in range(3):  # wrappers nest: **1. `Title`:**
        text = re.sub(r"^[*_]+|[*_]+$", "", text.strip()).strip()
        text = _NUMBERING.sub("", text)
        text = text.rstrip(".:;!?,。：；！？，").strip()
    text = re.sub(r"[`*]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", "", text)
    return re.sub(r"\s+", " ", text).strip().casefold()


# Steps ---------------------------------------------------------------------------------------


def _unwrap_fence(text: str) -> str:
    """The reply inside a fence that wraps all of it (short chatter around it allowed)."""
    lines = text.split("\n")
    opened = [i for i, line in enumerate(lines) if _FENCE_LINE.match(line)]
    if len(opened) < 2:
        return text
    first, last = opened[0], opened[-1]
    marker = _FENCE_LINE.match(lines[first])
    closing = lines[last].strip()
    if marker is None or not closing or closing.strip(marker.group(1)[0]):
        return text
    outside = [*lines[:first], *lines[last + 1 :]]
    inner = lines[first + 1 : last]
    if any(_HEADING.match(line) for line in outside) or len("\n".join(outside)) > _CHATTER_MAX:
        return text
    if not any(_HEADING.match(line) for line in inner):
        return text  # a lone code block is an example, not a wrapped digest
    if any(line.strip() for line in outside) and not _is_chatter_text("\n".join(outside)):
        return text
    return "\n".join(inner)


def _is_chatter_text(text: str) -> bool:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return all(_LEAD_IN.match(p) or _CLOSING.match(p) for p in paragraphs)


def _strip_chatter(text: str) -> str:
    """Drop a lead-in paragraph and a closing paragraph that address the requester."""
    breaks = list(re.finditer(r"\n\s*\n", text))
    if not breaks:
        return text
    head, tail = text[: breaks[0].start()].strip(), text[breaks[-1].end() :].strip()
    start = breaks[0].end() if _chatter_paragraph(head, _LEAD_IN) else 0
    end = len(text)
    if _chatter_paragraph(tail, _CLOSING) and breaks[-1].start() >= start:
        end = breaks[-1].start()
    return text[start:end]


def _chatter_paragraph(paragraph: str, pattern: re.Pattern[str]) -> bool:
    if len(paragraph) > _CHATTER_MAX or "](" in paragraph or "`" in paragraph:
        return False
    if any(_HEADING.match(line) or _FENCE_LINE.match(line) for line in paragraph.split("\n")):
        return False
    return bool(pattern.match(paragraph))


def _drop_title_heading(text: str, titles: tuple[str, ...]) -> str:
    """Drop a level-1 page title at the very top that is not a feature title."""
    lines = text.split("\n")
    found = _heading_lines(lines)
    if not found or found[0].index != 0 or found[0].level != 1:
        return text
    if _unique_title(found[0].text, titles) is not None:
        return text
    return "\n".join(lines[1:])


def _unique_title(heading: str, titles: tuple[str, ...]) -> str | None:
    key = loose_title(heading)
    matches = [t for t in titles if loose_title(t) == key]
    return matches[0] if len(matches) == 1 and key else None


def _map_headings(text: str, titles: tuple[str, ...]) -> tuple[str, frozenset[str]]:
    """Rewrite near-miss feature headings as ``## <exact title>`` where exactly one fits."""
    lines = text.split("\n")
    found = _heading_lines(lines)
    exact = {h.text for h in found if h.level == 2}
    kinds: set[str] = set()
    for title in titles:
        if title in exact:
            continue
        candidates = [h for h in found if h.level <= 4 and _unique_title(h.text, titles) == title]
        if not candidates:
            continue
        top = min(h.level for h in candidates)
        chosen = [h for h in candidates if h.level == top]
        if len(chosen) == 1:
            lines[chosen[0].index] = f"## {title}"
            kinds.add("heading_level" if top != 2 else "heading_text")
            if chosen[0].text != title:
                kinds.add("heading_text")
    return "\n".join(lines), frozenset(kinds)


def _drop_extra_sections(text: str, titles: tuple[str, ...]) -> str:
    """Level-1/2 headings that are no feature title: wrappers dropped, recaps after the
    features dropped with their text, anything else demoted to level 3."""
    lines = text.split("\n")
    found = _heading_lines(lines)
    title_set = set(titles)
    first_feature = next((h.index for h in found if h.level == 2 and h.text in title_set), None)
    drop: set[int] = set()
    for pos, heading in enumerate(found):
        if heading.level > 2 or (heading.level == 2 and heading.text in title_set):
            continue
        key = loose_title(heading.text)
        after = first_feature is not None and heading.index > first_feature
        if _RECAPS.match(key) and after:
            end = next((h.index for h in found[pos + 1 :] if h.level <= 2), len(lines))
            drop.update(range(heading.index, end))
        elif _WRAPPERS.match(key):
            drop.add(heading.index)
        else:
            lines[heading.index] = f"### {heading.text}"
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def _unlink_unknown(text: str, allowed: frozenset[str]) -> str:
    """Links to http(s) URLs the input does not give become their label (bare ones go)."""
    lines = text.split("\n")
    out: list[str] = []
    for line, code in zip(lines, _code_mask(lines), strict=True):
        if code:
            out.append(line)
            continue
        reference = _REFERENCE.match(line)
        if reference and _unknown(reference.group(1), allowed):
            continue
        fixed = _outside_inline_code(line, lambda part: _unlink_part(part, allowed))
        if fixed != line and _EMPTY_BULLET.match(fixed):
            continue
        out.append(fixed)
    return "\n".join(out)


def _unknown(url: str, allowed: frozenset[str]) -> bool:
    is_web = url.lower().startswith(("http://", "https://"))
    return is_web and normalise_url(url) not in allowed


def _unlink_part(part: str, allowed: frozenset[str]) -> str:
    def link(match: re.Match[str]) -> str:
        return match.group(2).strip() if _unknown(match.group(3), allowed) else match.group(0)

    def autolink(match: re.Match[str]) -> str:
        return "" if _unknown(match.group(1), allowed) else match.group(0)

    def bare(match: re.Match[str]) -> str:
        return "" if _unknown(match.group(0), allowed) else match.group(0)

    def plain(segment: str) -> str:
        return _BARE_URL.sub(bare, _AUTOLINK.sub(autolink, segment))

    kept: list[str] = []
    last = 0
    # the targets of known links stay out of the bare-URL pass
    for match in _MD_LINK.finditer(part):
        kept.extend((plain(part[last : match.start()]), link(match)))
        last = match.end()
    kept.append(plain(part[last:]))
    fixed = "".join(kept)
    return re.sub(r"[ \t]{2,}", " ", fixed).rstrip() if fixed != part else part


def _outside_inline_code(line: str, fix: Callable[[str], str]) -> str:
    parts: list[str] = []
    last = 0
    for match in _INLINE_CODE.finditer(line):
        parts.append(fix(line[last : match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(fix(line[last:]))
    return "".join(parts)


def _all_urls(text: str) -> set[str]:
    lines = text.split("\n")
    found: set[str] = set()
    for line, code in zip(lines, _code_mask(lines), strict=True):
        if not code:
            found.update(m.group(3) for m in _MD_LINK.finditer(line))
            found.update(_BARE_URL.findall(line))
    return found


# Translations -----------------------------------------------------------------------------


def _drop_translation_extras(text: str, levels: tuple[int, ...]) -> str:
    """Drop a level-1 title or a trailing recap section the English source does not have."""
    lines = text.split("\n")
    found = _heading_lines(lines)
    if len(found) <= len(levels):
        return text
    if found[0].index == 0 and found[0].level == 1 and (not levels or levels[0] != 1):
        return "\n".join(lines[1:])
    last = found[-1]
    if last.level <= 2 and _RECAPS.match(loose_title(last.text)):
        return "\n".join(lines[: last.index])
    return text


def _align_levels(text: str, levels: tuple[int, ...]) -> str:
    """Give the headings the English levels when only the levels differ."""
    lines = text.split("\n")
    found = _heading_lines(lines)
    if len(found) != len(levels):
        return text
    for heading, level in zip(found, levels, strict=True):
        if heading.level != level:
            lines[heading.index] = f"{'#' * level} {heading.text}"
    return "\n".join(lines)


def _sections(lines: list[str], found: list[_Line]) -> list[tuple[int, int]]:
    """Line ranges of the text before the first heading and of each heading's section."""
    starts = [0, *(h.index for h in found)]
    ends = [*(h.index for h in found), len(lines)]
    return list(zip(starts, ends, strict=True))


def _restore_links(text: str, english: str) -> str:
    """Append the English link bullets a translated section lost (same heading structure only)."""
    lines, source = text.split("\n"), english.split("\n")
    found, source_found = _heading_lines(lines), _heading_lines(source)
    if [h.level for h in found] != [h.level for h in source_found]:
        return text
    out: list[str] = []
    pairs = zip(_sections(lines, found), _sections(source, source_found), strict=True)
    for (start, end), (s_start, s_end) in pairs:
        section = lines[start:end]
        have = {normalise_url(u) for u in _all_urls("\n".join(section))}
        lost = [
            line
            for line in source[s_start:s_end]
            if (bullet := _LINK_BULLET.match(line)) and normalise_url(bullet.group(1)) not in have
        ]
        if lost:
            while section and not section[-1].strip():
                section.pop()
            section = [*section, "", *lost, ""] if section else [*lost, ""]
        out.extend(section)
    return "\n".join(out)
