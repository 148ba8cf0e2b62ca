"""Content sanity of a reply (pure): no echo of the prompt, prose of its own per feature.

Cheap and deterministic: a reply must not echo the prompt's instructions or markers, and every
feature section needs prose of its own that shares at least one substantive term (a title word,
an API name, a code identifier) with the feature's release-note text. A section failing these is
treated as missing.
"""

import re
from collections.abc import Mapping

from webplatform_digest.digest.markdown import (
    BARE_URL,
    CJK,
    CODE_SPAN,
    LINK_ONLY,
    LINK_TARGET,
    WORD,
    listing,
    normalise_title,
    prose,
    prose_lines,
    sections,
)

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


def echoes(text: str) -> tuple[str, ...]:
    """The prompt markers and instruction phrases ``text`` repeats (outside code)."""
    body = prose(text).casefold()
    found = [m for m in ECHO_MARKERS if m.casefold() in body]
    if _FEATURE_BLOCK.search(body):
        found.append("--- Feature N of M ---")
    return tuple(found)


def own_words(section: str) -> int:
    """Words of prose in a section body: link-only lines and code blocks excluded."""
    lines = [line for line in prose_lines(section) if not LINK_ONLY.match(line)]
    body = LINK_TARGET.sub("]", "\n".join(lines))
    body = BARE_URL.sub(" ", body)
    return len(WORD.findall(body)) + len(CJK.findall(body)) // 2


def terms(text: str) -> frozenset[str]:
    """Substantive terms of a text: code identifiers whole, other words by a 5-letter stem."""
    found = {span.strip().casefold() for span in CODE_SPAN.findall(text) if span.strip()}
    for word in WORD.findall(CODE_SPAN.sub(lambda m: " " + m.group(1) + " ", text)):
        stem = word.casefold()[:5]
        if len(word) >= 4 and stem not in _COMMON:
            found.add(stem)
    return frozenset(found)


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
            f"feature: {listing(echoed, 8)}"
        )
    if empty:
        problems.append(
            f"these sections have no prose of their own (only a heading or links): "
            f"{listing(empty, 8)}"
        )
    if unrelated:
        problems.append(
            "these sections do not mention anything from their feature's release note "
            f"(no title word, API or code name): {listing(unrelated, 8)}"
        )
    return problems, tuple(dict.fromkeys((*echoed, *empty, *unrelated)))


def _own_prose(section: str) -> str:
    lines = [line for line in section.split("\n") if not LINK_ONLY.match(line)]
    return BARE_URL.sub(" ", LINK_TARGET.sub("]", "\n".join(lines)))
