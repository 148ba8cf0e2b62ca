"""Translations into any target language: requests, checks and fallbacks from its profile (pure).

Chinese keeps its original prompts, checks and fallback (``digest.prompts``), so its requests and
cached replies stay byte-identical; every other language is written from the generic templates
(``translate_system``, ``translate_user``, ``translate_retry``) filled from its data file
(``digest.profiles``). In parallel mode a language is written from the area data directly
(``direct_request``) and checked against the English digest like any translation.
"""

import re
from collections.abc import Mapping
from dataclasses import replace

from webplatform_digest.digest.checks import Verdict, check_translation
from webplatform_digest.digest.profiles import LanguageProfile, profile
from webplatform_digest.digest.prompts import (
    OFFLINE_NOTE,
    RequestOptions,
    Subject,
    bullets,
    chinese_request,
    chinese_retry_request,
    corrective,
    empty_page,
    english_request,
    fallback_chinese,
    prompt_text,
    release_label,
    render_prompt,
)
from webplatform_digest.digest.repair import repair_translation
from webplatform_digest.llm.port import LLMRequest, Message, RequestMeta
from webplatform_digest.models import Language
from webplatform_digest.releases.code import code_segments

#: the offline English fallback's own sentences and link labels, by fallback key
_FIXED = (
    ("intro", re.compile(r"^(Chrome [0-9]+(?: Beta)?) lists ([0-9]+) changes? in .+\.$", re.M)),
    ("tracking_bug", re.compile(r"^- \[Tracking bug( #?[0-9]+)?\]\(", re.MULTILINE)),
    ("chromestatus", re.compile(r"^- \[ChromeStatus(?:\.com)? entry\]\(", re.MULTILINE)),
    ("spec", re.compile(r"^- \[Spec(?:ification)?\]\(", re.MULTILINE)),
)


def _system(language: LanguageProfile) -> str:
    if language.prompts is not None:
        return (
            prompt_text(language.prompts.system) + "\n\n" + prompt_text(language.prompts.glossary)
        )
    head = render_prompt(
        "translate_system",
        language_name=language.name,
        native_name=language.native_name,
        style=language.style,
    )
    return head.replace("\n\n\n", "\n\n") + "\n\n" + language.glossary()


def translation_request(
    subject: Subject, english: str, language: Language, options: RequestOptions
) -> LLMRequest:
    """The request to translate the accepted English digest into ``language``."""
    if language is Language.ZH:
        return chinese_request(subject, english, options)
    target = profile(language)
    user = render_prompt(
        "translate_user",
        area_name=subject.name,
        version=subject.data.version,
        language_name=target.name,
        native_name=target.native_name,
        english=english.strip(),
    )
    return LLMRequest(
        system=_system(target),
        messages=(Message("user", user),),
        max_tokens=max(256, min(options.max_tokens, 600 + len(english))),
        temperature=options.temperature,
        model_preferences=options.model_preferences,
        meta=RequestMeta(
            area=subject.data.area,
            stage="translation",
            language=language.value,
            run_id=options.run_id,
            fallback=fallback_translation(english, language),
        ),
    )


def translation_retry_request(
    subject: Subject,
    english: str,
    language: Language,
    previous: str,
    problems: tuple[str, ...],
    options: RequestOptions,
) -> LLMRequest:
    """The corrective retry of a translation into ``language``, with the problems stated."""
    if language is Language.ZH:
        return chinese_retry_request(subject, english, previous, problems, options)
    first = translation_request(subject, english, language, options)
    correction = render_prompt(
        "translate_retry", problems=bullets(problems), language_name=profile(language).name
    )
    return corrective(first, previous, correction, "translation_retry")


def direct_request(
    subject: Subject, language: Language, options: RequestOptions, english_fallback: str
) -> LLMRequest:
    """Parallel mode: the digest written in ``language`` straight from the area data.

    It is the English request with the target language's instructions and glossary added; its
    fallback is the labelled English fallback, as for a translation.
    """
    target = profile(language)
    first = english_request(subject, options)
    note = (
        f"Write the whole digest in {target.name} ({target.native_name}), not in English: "
        "translate the feature titles in the '## ' headings too, keep every URL exactly, and "
        "keep code, API, CSS and HTML names in English.\n\n"
    )
    return replace(
        first,
        system=f"{first.system}\n\n{_system(target)}",
        messages=(Message("user", note + first.messages[0].text), *first.messages[1:]),
        meta=replace(
            first.meta,
            stage="translation",
            language=language.value,
            fallback=fallback_translation(english_fallback, language),
        ),
    )


def validate_translation(english: str, reply: str, language: Language) -> Verdict:
    """Repair, then check a translation: same heading levels and URLs, prose in the language."""
    repaired = repair_translation(reply, english)
    verdict = check_translation(
        repaired.markdown, english, profile(language), max_chars=3 * len(english) + 3000
    )
    return replace(verdict, repairs=repaired.kinds)


def fallback_translation(english: str, language: Language) -> str:
    """A deterministic, clearly labelled page in ``language``: a notice, then the English
    original with the fallback's own sentences and link labels translated (code untouched)."""
    if language is Language.ZH:
        return fallback_chinese(english)
    words = profile(language).fallback
    parts: list[str] = []
    for is_code, segment in code_segments(
        english.strip().replace(OFFLINE_NOTE, words["offline_note"])
    ):
        if not is_code:
            segment = _translate_fixed(segment, words)
        parts.append(segment)
    return f"{words['banner']}\n\n{chr(10).join(parts)}\n"


def _translate_fixed(segment: str, words: Mapping[str, str]) -> str:
    for key, pattern in _FIXED:
        segment = pattern.sub(lambda m, k=key: _fixed_text(k, m, words), segment)
    return segment


def _fixed_text(key: str, match: re.Match[str], words: Mapping[str, str]) -> str:
    groups = [g or "" for g in match.groups()]
    if key == "intro":
        return words[key].format(release=groups[0], count=groups[1])
    return f"- [{words[key]}{''.join(groups)}]("


def translated_empty_page(subject: Subject, language: Language) -> str:
    """The short page, in ``language``, of an area with no features in this release."""
    if language in (Language.EN, Language.ZH):
        return empty_page(subject, language)
    release = release_label(subject.data.version, subject.data.channel)
    return profile(language).fallback["empty"].format(release=release, area=subject.name) + "\n"
