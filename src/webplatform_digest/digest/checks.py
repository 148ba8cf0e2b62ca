"""Checks an LLM reply must pass before it becomes a digest (pure).

English: every feature title is a level-2 heading, links come only from the input data, no front
matter, no level-1 heading, no raw HTML, bounded length. Translations: the same heading levels
in the same order as the accepted English, the same URL set, prose in the target language (enough
CJK text for Chinese; ``digest.scripts`` for the others).

Both also apply the content sanity checks of ``content`` (no prompt echo, prose of its own per
feature section).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from webplatform_digest.digest.content import echoes, section_problems
from webplatform_digest.digest.markdown import (
    DANGEROUS,
    HEADING,
    cjk_share,
    clean_reply,
    headings,
    html_tags,
    link_targets,
    listing,
    normalise_title,
    normalise_url,
    prose_and_code_lines,
)
from webplatform_digest.digest.profiles import LanguageProfile
from webplatform_digest.digest.scripts import script_problems
from webplatform_digest.models import Language

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
    if any(DANGEROUS.match(url) for url in link_targets(text)):
        problems.append("the reply links to a javascript:, vbscript: or data: URL")
    tags = {t for t in html_tags(text) if t.lstrip("/") in _NEVER_TAGS or t not in tolerated}
    if tags:
        problems.append(
            f"the reply contains raw HTML ({listing(f'<{t}>' for t in tags)}); "
            "write element names in inline code such as `<dialog>`"
        )
    if any(h.level == 1 for h in headings(text)):
        problems.append("the reply contains a level-1 heading (# ...); use ## for features only")
    return problems


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
            f"the reply repeats the prompt's instructions or markers ({listing(echoes(preamble))})"
        )
    allowed = {normalise_url(u) for u in allowed_urls}
    unknown = link_targets(text) - allowed
    if unknown:
        problems.append(f"the reply links to URLs that are not in the input: {listing(unknown)}")
    missing = tuple(t for t in titles if t in set(absent) | set(unusable))
    return Verdict(text, tuple(problems), missing=missing)


def _preamble(text: str) -> str:
    """The text before the first level-2 heading (and any level-1 heading's section)."""
    lines: list[str] = []
    for code, line in prose_and_code_lines(text):
        match = None if code else HEADING.match(line)
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
        problems.append(f"these features have no '## <title>' heading: {listing(missing, 8)}")
    doubled = [wanted[key] for key, count in seen.items() if count > 1]
    if doubled:
        problems.append(f"these feature headings appear more than once: {listing(doubled)}")
    if extra:
        problems.append(
            "these level-2 headings are not feature titles from the input: " + listing(extra)
        )
    return problems, [*missing, *doubled_titles]


def check_chinese(reply: str, english: str, *, max_chars: int) -> Verdict:
    """Check a Chinese translation against the accepted English digest."""
    text = clean_reply(reply)
    problems = _translation_problems(text, english, max_chars)
    if problems == ["the reply is empty"]:
        return Verdict(text, tuple(problems))
    count, share = cjk_share(text)
    if count < MIN_CJK_CHARS or share < MIN_CJK_SHARE:
        problems.append(
            f"too little Chinese text ({count} CJK characters, {share:.0%} of the letters; "
            f"need at least {MIN_CJK_SHARE:.0%}); translate the prose into Simplified Chinese"
        )
    return Verdict(text, tuple(problems))


def check_translation(
    reply: str, english: str, language: LanguageProfile, *, max_chars: int
) -> Verdict:
    """Check a translation into ``language`` against the accepted English digest: the same
    structure and URLs, and prose written in the language (``digest.scripts``)."""
    if language.code is Language.ZH:  # its checks and messages predate the profiles
        return check_chinese(reply, english, max_chars=max_chars)
    text = clean_reply(reply)
    problems = _translation_problems(text, english, max_chars)
    if problems == ["the reply is empty"]:
        return Verdict(text, tuple(problems))
    return Verdict(text, (*problems, *script_problems(text, language)))


def _translation_problems(text: str, english: str, max_chars: int) -> list[str]:
    """Problems of a translation whatever its language: structure and URLs against the source."""
    problems = common_problems(text, max_chars, html_tags(english))
    if problems == ["the reply is empty"]:
        return problems
    echoed = echoes(text)
    if echoed:
        problems.append(
            f"the reply repeats the prompt's instructions or markers ({listing(echoed)})"
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
                f"missing {listing(missing)}" if missing else "",
                f"not in the source {listing(added)}" if added else "",
            )
            if part
        )
        problems.append(f"the URLs differ from the English source: {detail}")
    return problems


def _levels(levels: list[int]) -> str:
    shown = ",".join(str(level) for level in levels[:12])
    return f"[{shown}{',…' if len(levels) > 12 else ''}]"
