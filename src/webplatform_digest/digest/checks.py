"""Checks an LLM reply must pass before it becomes a digest (pure).

English: every feature title is a level-2 heading, links come only from the input data, no front
matter, no level-1 heading, no raw HTML, bounded length. Chinese: the same heading levels in the
same order as the accepted English, the same URL set, enough CJK text.

Content sanity (cheap and deterministic): a reply must not echo the prompt's instructions or
markers, and every feature section needs prose of its own that shares at least one substantive
term (a title word, an API name, a code identifier) with the feature's release-note text. A
section failing these is treated as missing.
"""

import re
from collections.abc import Iterable, Iterator, Mapping
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
_LINK_ONLY = re.compile(
    r"^\s*(?:[-*+]\s+)?(?:\[[^\]]*\]\([^)]*\)|<[^>\s]+>|https?://\S+)"
    r"(?:\s*[|,;:·-]?\s*(?:\[[^\]]*\]\([^)]*\)|<[^>\s]+>|https?://\S+))*\s*$"
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]+")
_CODE_SPAN = re.compile(r"`+([^`]+)`+")
#: text only the prompts contain: a reply repeating it echoes its instructions, not a digest
ECHO_MARKERS = (
    "<<<RELEASE NOTES",
    "RELEASE NOTES>>>",
    "<<<DIGEST",
    "DIGEST>>>",
    "your reply must contain",
    "level-2 headings, in this order",
    "treat everything between the markers",
    "keep each feature to at most",
    "rules for the format",
    "a program checks them",
    "the format checker",
    "write the digest of the focus area",
)
_FEATURE_BLOCK = re.compile(r"^---\s*Feature \d+ of \d+\s*---", re.MULTILINE | re.IGNORECASE)
#: least words of its own (CJK characters count half) a feature section needs
MIN_SECTION_WORDS = 3
#: words too common in release notes to show a section is about its feature (5-letter stems)
_COMMON = frozenset(
    w[:5]
    for w in [
        "about",
        "after",
        "allow",
        "allows",
        "also",
        "available",
        "before",
        "because",
        "being",
        "browser",
        "browsers",
        "build",
        "change",
        "changes",
        "chrome",
        "chromium",
        "could",
        "developer",
        "developers",
        "does",
        "each",
        "enable",
        "enabled",
        "feature",
        "features",
        "from",
        "have",
        "help",
        "helps",
        "into",
        "make",
        "makes",
        "more",
        "most",
        "must",
        "now",
        "only",
        "other",
        "page",
        "pages",
        "release",
        "released",
        "should",
        "some",
        "such",
        "support",
        "supported",
        "supports",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "used",
        "user",
        "users",
        "using",
        "version",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "would",
        "able",
        "better",
        "like",
        "just",
        "well",
        "very",
        "same",
        "both",
        "over",
        "under",
        "what",
        "your",
        "site",
        "sites",
        "thing",
        "things",
        "work",
        "works",
    ]
)

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
    #: repairs applied before the checks (``repair.REPAIR_KINDS``)
    repairs: tuple[str, ...] = ()
    #: feature titles whose section is absent or unusable (no prose, echo, off-topic)
    missing: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the reply can be accepted."""
        return not self.problems


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


def echoes(text: str) -> tuple[str, ...]:
    """The prompt markers and instruction phrases ``text`` repeats (outside code)."""
    body = prose(text).casefold()
    found = [m for m in ECHO_MARKERS if m.casefold() in body]
    if _FEATURE_BLOCK.search(body):
        found.append("--- Feature N of M ---")
    return tuple(found)


def own_words(section: str) -> int:
    """Words of prose in a section body: link-only lines and code blocks excluded."""
    lines = [line for line in prose_lines(section) if not _LINK_ONLY.match(line)]
    body = _LINK_TARGET.sub("]", "\n".join(lines))
    body = _BARE_URL.sub(" ", body)
    return len(_WORD.findall(body)) + len(_CJK.findall(body)) // 2


def terms(text: str) -> frozenset[str]:
    """Substantive terms of a text: code identifiers whole, other words by a 5-letter stem."""
    found = {span.strip().casefold() for span in _CODE_SPAN.findall(text) if span.strip()}
    for word in _WORD.findall(_CODE_SPAN.sub(lambda m: " " + m.group(1) + " ", text)):
        stem = word.casefold()[:5]
        if len(word) >= 4 and stem not in _COMMON:
            found.add(stem)
    return frozenset(found)


def sections(text: str) -> dict[str, str]:
    """Level-2 sections by their loosely normalised heading: the body up to the next level-2."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in prose_and_code_lines(text):
        match = _HEADING.match(line[1]) if not line[0] else None
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


def section_problems(
    text: str, titles: tuple[str, ...], sources: Mapping[str, str] | None
) -> tuple[list[str], tuple[str, ...]]:
    """Problems of the feature sections and the titles they make missing.

    A section is unusable when it echoes the prompt, has fewer than ``MIN_SECTION_WORDS``
    words of its own, or (given the release-note ``sources`` per title) shares no
    substantive term with its feature's text.
    """
    found = sections(text)
    echoed: list[str] = []
    empty: list[str] = []
    unrelated: list[str] = []
    for title in titles:
        body = found.get(normalise_title(title))
        if body is None:
            continue
        if echoes(body):
            echoed.append(title)
        elif own_words(body) < MIN_SECTION_WORDS:
            empty.append(title)
        elif sources and title in sources and not terms(_own_prose(body)) & terms(sources[title]):
            unrelated.append(title)
    problems: list[str] = []
    if echoed:
        problems.append(
            "these sections repeat the prompt's instructions instead of describing the "
            f"feature: {_shown(echoed, 8)}"
        )
    if empty:
        problems.append(
            f"these sections have no prose of their own (only a heading or links): "
            f"{_shown(empty, 8)}"
        )
    if unrelated:
        problems.append(
            "these sections do not mention anything from their feature's release note "
            f"(no title word, API or code name): {_shown(unrelated, 8)}"
        )
    return problems, tuple(dict.fromkeys((*echoed, *empty, *unrelated)))


def _own_prose(section: str) -> str:
    lines = [line for line in section.split("\n") if not _LINK_ONLY.match(line)]
    return _BARE_URL.sub(" ", _LINK_TARGET.sub("]", "\n".join(lines)))


def check_english(
    reply: str,
    titles: tuple[str, ...],
    allowed_urls: set[str],
    *,
    max_chars: int,
    sources: Mapping[str, str] | None = None,
) -> Verdict:
    """Check an English digest reply against the feature titles and the input URLs.

    ``sources`` (title → release-note text) enables the check that each section is about its
    feature; without it only the structure, echo and empty-section checks apply.
    """
    text = clean_reply(reply)
    problems = common_problems(text, max_chars, html_tags("\n".join(titles)))
    if problems == ["the reply is empty"]:
        return Verdict(text, tuple(problems), missing=titles)
    heading_problems, absent = _heading_problems(text, titles)
    problems += heading_problems
    content_problems, unusable = section_problems(text, titles, sources)
    problems += content_problems
    preamble = _preamble(text)
    if echoes(preamble):
        problems.append(
            f"the reply repeats the prompt's instructions or markers ({_shown(echoes(preamble))})"
        )
    allowed = {normalise_url(u) for u in allowed_urls}
    unknown = link_targets(text) - allowed
    if unknown:
        problems.append(f"the reply links to URLs that are not in the input: {_shown(unknown)}")
    missing = tuple(t for t in titles if t in set(absent) | set(unusable))
    return Verdict(text, tuple(problems), missing=missing)


def _preamble(text: str) -> str:
    """The text before the first level-2 heading (and any level-1 heading's section)."""
    lines: list[str] = []
    for code, line in prose_and_code_lines(text):
        match = None if code else _HEADING.match(line)
        if match and len(match.group(1)) == 2:
            break
        lines.append(line)
    return "\n".join(lines)


def _heading_problems(text: str, titles: tuple[str, ...]) -> tuple[list[str], list[str]]:
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
    doubled_titles = [wanted[key] for key, count in seen.items() if count > 1]
    if missing:
        problems.append(f"these features have no '## <title>' heading: {_shown(missing, 8)}")
    doubled = [wanted[key] for key, count in seen.items() if count > 1]
    if doubled:
        problems.append(f"these feature headings appear more than once: {_shown(doubled)}")
    if extra:
        problems.append(
            "these level-2 headings are not feature titles from the input: " + _shown(extra)
        )
    return problems, [*missing, *doubled_titles]


def check_chinese(reply: str, english: str, *, max_chars: int) -> Verdict:
    """Check a Chinese translation against the accepted English digest."""
    text = clean_reply(reply)
    problems = common_problems(text, max_chars, html_tags(english))
    if problems == ["the reply is empty"]:
        return Verdict(text, tuple(problems))
    echoed = echoes(text)
    if echoed:
        problems.append(
            f"the reply repeats the prompt's instructions or markers ({_shown(echoed)})"
        )
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
