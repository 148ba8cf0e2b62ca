"""Partial acceptance: keep the feature sections a reply got right, fill the rest (pure).

A reply that is good except for some feature sections (absent, empty, off-topic, echoing the
prompt) is cut down to its good sections; that cut-down text must pass the same checks for the
features it keeps, so nothing unchecked is accepted. A focused retry then asks only for the
missing features, and whatever is still missing is filled from the release-note data (English)
or kept in English (translations), each such section marked as such.
"""

import re
from dataclasses import dataclass, replace

from webplatform_digest.digest.checks import MIN_CJK_SHARE, Verdict
from webplatform_digest.digest.markdown import (
    HEADING,
    headings,
    link_targets,
    normalise_url,
    prose_and_code_lines,
)
from webplatform_digest.digest.markdown import cjk_share as _cjk_share
from webplatform_digest.digest.profiles import profile
from webplatform_digest.digest.prompts import Subject, fallback_section, validate_english
from webplatform_digest.digest.scripts import script_problems
from webplatform_digest.models import Language

#: marks an English section written from the release notes instead of by the model
SECTION_FALLBACK_NOTE = (
    "_This section was written without an LLM, from the release-note data: the model's "
    "text for it was missing or unusable._"
)
#: marks a section of a Chinese translation that stays in English (other languages: the
#: ``section`` sentence of their data file)
SECTION_UNTRANSLATED_NOTE = (
    "> **未翻译（Untranslated）**：本节暂无中文翻译，以下为英文原文。"
    "This section is not translated yet; the English original follows."
)
#: least CJK characters of a translated section with prose
MIN_SECTION_CJK = 4
#: problems of a whole translation that no per-section acceptance may hide
_REPLY_LEVEL = (
    "the reply is empty",
    "the reply starts with YAML",
    "the reply is too long",
    "the reply links to a javascript:",
    "the reply contains raw HTML",
    "the reply contains a level-1 heading",
    "the reply repeats the prompt",
)


@dataclass(frozen=True, slots=True)
class Split:
    """A digest cut at its level-2 headings: the text before them and each section."""

    preamble: str
    sections: tuple[tuple[str, str], ...]  # (heading text, section text incl. the heading)


def split_sections(markdown: str, level: int = 2) -> Split:
    """Cut ``markdown`` at headings of ``level`` or above (outside code)."""
    preamble: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    for code, line in prose_and_code_lines(markdown):
        match = None if code else HEADING.match(line)
        if match and len(match.group(1)) <= level:
            sections.append((match.group(2).strip(), [line]))
        elif sections:
            sections[-1][1].append(line)
        else:
            preamble.append(line)
    return Split(
        "\n".join(preamble).strip(),
        tuple((title, "\n".join(lines).strip()) for title, lines in sections),
    )


def join_sections(preamble: str, sections: list[str]) -> str:
    """A digest from its parts (blank line between parts)."""
    return "\n\n".join(part for part in (preamble, *sections) if part.strip()) + "\n"


def restricted(subject: Subject, titles: tuple[str, ...]) -> Subject:
    """``subject`` with only the features of ``titles``."""
    wanted = set(titles)
    features = tuple(f for f in subject.data.features if f.title.strip() in wanted)
    return replace(subject, data=replace(subject.data, features=features))


def usable_english(subject: Subject, verdict: Verdict) -> tuple[str, dict[str, str]] | None:
    """The good part of a rejected English reply, or None when nothing can be kept.

    Returns the preamble and the good sections by title. Usable means: at least one feature
    is good, and the reply without its missing sections passes every check for the rest.
    """
    missing = set(verdict.missing)
    kept = tuple(t for t in subject.titles if t not in missing)
    if verdict.ok or not kept or not missing:
        return None
    split = split_sections(verdict.markdown)
    good = [(title, text) for title, text in split.sections if title in set(kept)]
    candidate = join_sections(split.preamble, [text for _, text in good])
    if not validate_english(restricted(subject, kept), candidate).ok:
        return None
    return split.preamble, dict(good)


def english_parts(verdict: Verdict, titles: tuple[str, ...]) -> dict[str, str]:
    """The sections of an accepted (focused) reply by title."""
    wanted = set(titles)
    return {t: s for t, s in split_sections(verdict.markdown).sections if t in wanted}


def assemble_english(
    subject: Subject, preamble: str, written: dict[str, str]
) -> tuple[str, tuple[str, ...]]:
    """The whole English digest: written sections in title order, the rest filled and marked.

    Returns the markdown and the titles filled from the release-note data.
    """
    sections: list[str] = []
    filled: list[str] = []
    for title in subject.titles:
        if title in written:
            sections.append(written[title])
        else:
            filled.append(title)
            sections.append(marked_fallback(subject, title))
    return join_sections(preamble, sections), tuple(filled)


def marked_fallback(subject: Subject, title: str) -> str:
    """The deterministic section of ``title`` with the marker under its heading."""
    heading, _, rest = fallback_section(subject, title).partition("\n\n")
    return "\n\n".join(part for part in (heading, SECTION_FALLBACK_NOTE, rest) if part)


# Translations -----------------------------------------------------------------------------


def translated_sections(
    english: str, reply: str, language: Language = Language.ZH
) -> list[bool] | None:
    """Per English section (preamble first), whether the reply translates it acceptably.

    None when the heading structure differs (sections cannot be paired). A section is
    translated when it keeps the English section's URLs exactly and its prose is in ``language``
    (or the English section has no prose to translate).
    """
    source, target = split_sections(english, 6), split_sections(reply, 6)
    if [h.level for h in headings(english)] != [h.level for h in headings(reply)]:
        return None
    pairs = [(source.preamble, target.preamble)]
    pairs += [(s, t) for (_, s), (_, t) in zip(source.sections, target.sections, strict=True)]
    return [_translated(s, t, language) for s, t in pairs]


def _translated(source: str, target: str, language: Language) -> bool:
    urls = {normalise_url(u) for u in link_targets(source)}
    if {normalise_url(u) for u in link_targets(target)} != urls:
        return False
    if len(re.findall(r"[A-Za-z]", source)) < 20:
        return True  # nothing much to translate (a link list, a code block)
    if language is not Language.ZH:
        target_profile = profile(language)
        short = replace(
            target_profile,
            script=replace(target_profile.script, min_chars=MIN_SECTION_CJK),
        )
        return not script_problems(target, short)
    count, share = _cjk_share(target)
    return count >= MIN_SECTION_CJK and share >= MIN_CJK_SHARE


def assemble_chinese(
    english: str, reply: str, good: list[bool], language: Language = Language.ZH
) -> str:
    """The translation with untranslated sections replaced by the marked English original."""
    note = (
        SECTION_UNTRANSLATED_NOTE
        if language is Language.ZH
        else profile(language).fallback["section"]
    )
    source, target = split_sections(english, 6), split_sections(reply, 6)
    parts: list[str] = []
    pre_ok = good[0]
    parts.append(target.preamble if pre_ok else _untranslated(source.preamble, note))
    for ok, (_, s), (_, t) in zip(good[1:], source.sections, target.sections, strict=True):
        parts.append(t if ok else _untranslated(s, note))
    return join_sections("", parts)


def _untranslated(section: str, note: str) -> str:
    if not section.strip():
        return section
    heading, sep, rest = section.partition("\n")
    if HEADING.match(heading):
        return "\n\n".join(p for p in (heading, note, rest.strip()) if p)
    return f"{note}\n\n{section}" if sep or heading else section


def usable_chinese(
    english: str, verdict: Verdict, language: Language = Language.ZH
) -> list[bool] | None:
    """Which sections of a rejected translation can be kept, or None when none or all can.

    Only a reply free of the problems every reply can have (raw HTML, dangerous links, front
    matter, prompt echoes, excess length) qualifies; its sections are then judged one by one.
    """
    if verdict.ok or any(p.startswith(_REPLY_LEVEL) for p in verdict.problems):
        return None
    good = translated_sections(english, verdict.markdown, language)
    if good is None or all(good) or not any(good[1:]):
        return None
    return good
