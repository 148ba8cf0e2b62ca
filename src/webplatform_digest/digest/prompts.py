"""Digest prompts (package data), LLM request construction, reply checks and fallbacks (pure).

The prompt texts live in ``data/prompts/*.md`` and are ``string.Template`` files. Every request
carries its deterministic fallback in ``RequestMeta.fallback`` (the offline backend answers with
it), so a run always ends with a digest for every area and language.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from string import Template

from webplatform_digest.digest.checks import Verdict, check_chinese, check_english
from webplatform_digest.digest.prompt_specs import PROMPT_SPECS
from webplatform_digest.digest.repair import repair_chinese, repair_english
from webplatform_digest.llm.port import LLMRequest, Message, RequestMeta
from webplatform_digest.models import AreaData, Channel, Feature, Language
from webplatform_digest.releases.code import code_segments, fence_code

#: words per feature the prompt asks for (small areas / large areas)
WORDS_PER_FEATURE = (150, 80)
LARGE_AREA = 10
#: characters of one feature body shown to the model
MAX_BODY_CHARS = 4000
#: characters of a rejected reply quoted back in the corrective retry
MAX_QUOTED_REPLY = 24_000

_LINK_LINE = re.compile(r"^\s*(?:\[[^\]]*\]\([^)]*\)\s*\|?\s*)+$")
_BODY_TARGET = re.compile(r"\]\(\s*<?([^)\s>]+)")
_BODY_URL = re.compile(r"https?://[^\s<>()\[\]`\"']+")
_BODY_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_CJK_CHAR = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
#: characters per token of English text and markdown (a common rule of thumb)
CHARS_PER_TOKEN = 4

UNTRANSLATED_BANNER = (
    "> **未翻译（Untranslated）**：自动翻译暂不可用，以下为英文原文。"
    "The Chinese translation is not available; the English original follows."
)
OFFLINE_NOTE = "_Generated without an LLM from the release-note data (deterministic digest)._"
OFFLINE_NOTE_ZH = "_本摘要未使用 LLM，由发布说明数据直接生成（确定性摘要）。_"
#: the fallback's own English sentences and link labels, and what the Chinese page says instead
_FIXED_ZH = (
    (
        re.compile(r"^(Chrome [0-9]+(?: Beta)?) lists ([0-9]+) changes? in .+\.$", re.MULTILINE),
        r"\1 的发布说明在本领域列出 \2 项更新。",
    ),
    (re.compile(r"^- \[Tracking bug( #?[0-9]+)?\]\(", re.MULTILINE), r"- [跟踪问题\1]("),
    (re.compile(r"^- \[ChromeStatus(?:\.com)? entry\]\(", re.MULTILINE), "- [ChromeStatus 条目]("),
    (re.compile(r"^- \[Spec(?:ification)?\]\(", re.MULTILINE), "- [规范]("),
)


@cache
def prompt_text(name: str) -> str:
    """The raw text of a prompt file in ``data/prompts`` (``digest_en_system``, ``glossary``, …).

    Raises:
        FileNotFoundError: no such prompt file (a packaging bug).
    """
    files = resources.files("webplatform_digest").joinpath("data", "prompts", f"{name}.md")
    return files.read_text(encoding="utf-8").strip()


def estimate_tokens(text: str) -> int:
    """A simple token estimate: one per CJK character, one per four other characters."""
    cjk = len(_CJK_CHAR.findall(text))
    return cjk + -(-(len(text) - cjk) // CHARS_PER_TOKEN)


def prompt_tokens(request: LLMRequest) -> int:
    """Estimated prompt size of a request: the system prompt and every message."""
    return estimate_tokens(request.system) + sum(estimate_tokens(m.text) for m in request.messages)


def render_prompt(name: str, **values: object) -> str:
    """A prompt file with ``$names`` filled in."""
    return Template(prompt_text(name)).substitute({k: str(v) for k, v in values.items()})


@dataclass(frozen=True, slots=True)
class Subject:
    """What a digest is about: the area data and the area's display names."""

    data: AreaData
    name: str
    name_zh: str

    @property
    def titles(self) -> tuple[str, ...]:
        """Distinct feature titles in input order."""
        return tuple(dict.fromkeys(f.title.strip() for f in self.data.features))


@dataclass(frozen=True, slots=True)
class RequestOptions:
    """Per-call LLM parameters (model preferences are per call, never instance state)."""

    max_tokens: int = 4096
    temperature: float = 0.2
    model_preferences: tuple[str, ...] = ()
    run_id: str | None = None


def release_label(version: int, channel: Channel) -> str:
    """``Chrome 144`` or ``Chrome 144 Beta``."""
    return f"Chrome {version}" + ("" if channel is Channel.STABLE else f" {channel.value.title()}")


def digest_title(subject: Subject, language: Language) -> str:
    """The front-matter title of a digest page."""
    name = subject.name_zh if language is Language.ZH else subject.name
    return f"{name} — {release_label(subject.data.version, subject.data.channel)}"


def allowed_urls(data: AreaData) -> set[str]:
    """Every URL the input gives: typed links and link targets or bare URLs in the bodies."""
    urls = {link.url for f in data.features for link in f.links}
    for feature in data.features:
        urls.update(_BODY_TARGET.findall(feature.body))
        urls.update(_BODY_URL.findall(feature.body))
    return urls


def max_chars(feature_count: int) -> int:
    """Length bound of an English digest with ``feature_count`` features."""
    return 3000 + 3000 * max(1, feature_count)


def _words(subject: Subject) -> int:
    small, large = WORDS_PER_FEATURE
    return small if len(subject.titles) <= LARGE_AREA else large


def _feature_block(index: int, total: int, feature: Feature) -> str:
    links = "\n".join(f"- {link.title or link.type.value}: {link.url}" for link in feature.links)
    body = clean_body(feature.body)
    return (
        f"--- Feature {index} of {total} ---\n"
        f"Title: {feature.title.strip()}\n"
        f"Section: {feature.section}\n"
        f"Links:\n{links or '- (none)'}\n"
        f"Text:\n{body}\n"
    )


def _heading_list(subject: Subject) -> str:
    return "\n".join(f"## {title}" for title in subject.titles)


def _meta(
    subject: Subject, stage: str, language: Language, options: RequestOptions, fb: str
) -> RequestMeta:
    return RequestMeta(
        area=subject.data.area,
        stage=stage,
        language=language.value,
        run_id=options.run_id,
        fallback=fb,
    )


def english_request(subject: Subject, options: RequestOptions) -> LLMRequest:
    """The first request for an area's English digest."""
    return LLMRequest(
        system=prompt_text("digest_en_system") + "\n\n" + prompt_text("glossary"),
        messages=(Message("user", _english_user(subject)),),
        max_tokens=_english_tokens(subject, options),
        temperature=options.temperature,
        model_preferences=options.model_preferences,
        meta=_meta(subject, "english_generation", Language.EN, options, fallback_english(subject)),
    )


def _english_user(subject: Subject) -> str:
    features = subject.data.features
    blocks = "\n".join(_feature_block(i, len(features), f) for i, f in enumerate(features, 1))
    return render_prompt(
        "digest_en_user",
        area_name=subject.name,
        version=subject.data.version,
        channel=subject.data.channel.value,
        feature_count=len(subject.titles),
        heading_list=_heading_list(subject),
        words_per_feature=_words(subject),
        features=blocks.strip(),
    )


def _english_tokens(subject: Subject, options: RequestOptions) -> int:
    # ~1.6 tokens per word plus headings and links; never above the configured cap
    wanted = 400 + len(subject.titles) * (_words(subject) * 2 + 120)
    return max(256, min(options.max_tokens, wanted))


def english_retry_request(
    subject: Subject, previous: str, problems: tuple[str, ...], options: RequestOptions
) -> LLMRequest:
    """The corrective retry: the first request, the rejected reply, and the problems stated."""
    first = english_request(subject, options)
    correction = render_prompt(
        "digest_en_retry",
        problems=bullets(problems),
        heading_list=_heading_list(subject),
        url_list=bullets(tuple(sorted(allowed_urls(subject.data)))) or "- (none)",
    )
    return corrective(first, previous, correction, "english_retry")


def english_focused_request(
    subject: Subject, missing: tuple[str, ...], options: RequestOptions
) -> LLMRequest:
    """The focused retry: a fresh request for only the features a reply missed.

    The request's fallback stays the whole area's deterministic digest (what the offline
    backend answers and what a failed run falls back to).
    """
    wanted = set(missing)
    features = tuple(f for f in subject.data.features if f.title.strip() in wanted)
    focused = replace(subject, data=replace(subject.data, features=features))
    first = english_request(focused, options)
    return replace(
        first,
        meta=replace(first.meta, stage="english_retry", fallback=fallback_english(subject)),
    )


def corrective(first: LLMRequest, previous: str, correction: str, stage: str) -> LLMRequest:
    """The first request continued by the rejected reply and the correction, as ``stage``."""
    return replace(
        first,
        messages=(
            *first.messages,
            Message("assistant", previous[:MAX_QUOTED_REPLY]),
            Message("user", correction),
        ),
        meta=replace(first.meta, stage=stage),
    )


def bullets(items: tuple[str, ...]) -> str:
    """Items as a markdown list."""
    return "\n".join(f"- {item}" for item in items)


def chinese_request(subject: Subject, english: str, options: RequestOptions) -> LLMRequest:
    """The request to translate the accepted English digest into Simplified Chinese."""
    user = render_prompt(
        "translate_zh_user",
        area_name=subject.name,
        area_name_zh=subject.name_zh,
        version=subject.data.version,
        english=english.strip(),
    )
    return LLMRequest(
        system=prompt_text("translate_zh_system") + "\n\n" + prompt_text("glossary"),
        messages=(Message("user", user),),
        max_tokens=max(256, min(options.max_tokens, 600 + len(english))),
        temperature=options.temperature,
        model_preferences=options.model_preferences,
        meta=_meta(subject, "translation", Language.ZH, options, fallback_chinese(english)),
    )


def chinese_retry_request(
    subject: Subject,
    english: str,
    previous: str,
    problems: tuple[str, ...],
    options: RequestOptions,
) -> LLMRequest:
    """The corrective retry of a translation, with the problems stated."""
    first = chinese_request(subject, english, options)
    correction = render_prompt("translate_zh_retry", problems=bullets(problems))
    return corrective(first, previous, correction, "translation_retry")


def validate_english(subject: Subject, reply: str) -> Verdict:
    """Repair, then check an English reply: feature headings, input-only links, structure,
    length, and sections that are about their features."""
    urls = allowed_urls(subject.data)
    repaired = repair_english(reply, subject.titles, urls)
    verdict = check_english(
        repaired.markdown,
        subject.titles,
        urls,
        max_chars=max_chars(len(subject.titles)),
        sources=feature_sources(subject),
    )
    return replace(verdict, repairs=repaired.kinds)


def validate_chinese(english: str, reply: str) -> Verdict:
    """Repair, then check a Chinese reply: same heading levels, same URL set, enough CJK text."""
    repaired = repair_chinese(reply, english)
    verdict = check_chinese(repaired.markdown, english, max_chars=3 * len(english) + 3000)
    return replace(verdict, repairs=repaired.kinds)


def feature_sources(subject: Subject) -> dict[str, str]:
    """The release-note text of each feature title: the title, the bodies and link labels."""
    found: dict[str, list[str]] = {}
    for feature in subject.data.features:
        parts = found.setdefault(feature.title.strip(), [feature.title])
        parts.append(feature.body)
        parts.extend(link.title for link in feature.links)
    return {title: "\n".join(parts) for title, parts in found.items()}


def fallback_english(subject: Subject) -> str:
    """A deterministic English digest built from the area data alone."""
    data = subject.data
    if not data.features:
        return empty_page(subject, Language.EN)
    count = len(subject.titles)
    intro = (
        f"{release_label(data.version, data.channel)} lists {count} "
        f"change{'s' if count != 1 else ''} in {subject.name}."
    )
    sections = [fallback_section(subject, title) for title in subject.titles]
    return "\n\n".join([OFFLINE_NOTE, intro, *sections]) + "\n"


def fallback_section(subject: Subject, title: str) -> str:
    """The deterministic section of one feature title: heading, body, links."""
    features = [f for f in subject.data.features if f.title.strip() == title]
    parts = [f"## {title}"]
    for feature in features:
        body = clean_body(feature.body)
        if body:
            parts.append(body)
    links = dict.fromkeys((link.url, link.title) for f in features for link in f.links)
    if links:
        parts.append("\n".join(f"- [{_label(t or u)}]({u})" for u, t in links))
    return "\n\n".join(parts)


def clean_body(body: str) -> str:
    """A feature body without its link row (listed apart), inner headings as bold lines, capped;
    code fenced with its language and kept verbatim (never rewritten, never cut)."""
    parts: list[str] = []
    size = 0
    for is_code, segment in code_segments(fence_code(body.strip())):
        if is_code and size + len(segment) > 2 * MAX_BODY_CHARS:
            parts.append("…")  # a block is shown whole or not at all
            break
        if not is_code:
            segment = _clean_prose(segment)
            if size + len(segment) > MAX_BODY_CHARS:
                parts.append(segment[: max(0, MAX_BODY_CHARS - size)].rsplit(" ", 1)[0] + " …")
                break
        parts.append(segment)
        size += len(segment)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(parts)).strip()


def _clean_prose(text: str) -> str:
    lines: list[str] = []
    for line in text.split("\n"):
        if _LINK_LINE.match(line):
            continue
        heading = _BODY_HEADING.match(line)
        lines.append(f"**{heading.group(1)}**" if heading else line)
    return "\n".join(lines)


def _label(text: str) -> str:
    return text.replace("[", "(").replace("]", ")").replace("\n", " ").strip()


def fallback_chinese(english: str) -> str:
    """A deterministic, clearly labelled Chinese page: a notice, then the English original
    with the fallback's own sentences and link labels in Chinese (code left as it is)."""
    parts: list[str] = []
    for is_code, segment in code_segments(english.strip().replace(OFFLINE_NOTE, OFFLINE_NOTE_ZH)):
        for pattern, chinese in () if is_code else _FIXED_ZH:
            segment = pattern.sub(chinese, segment)
        parts.append(segment)
    return f"{UNTRANSLATED_BANNER}\n\n{chr(10).join(parts)}\n"


def empty_page(subject: Subject, language: Language) -> str:
    """The short page of an area that has no features in this release."""
    release = release_label(subject.data.version, subject.data.channel)
    if language is Language.ZH:
        return f"{release} 的发布说明中没有「{subject.name_zh}」方面的更新。\n"
    return f"The {release} release notes list no changes in {subject.name}.\n"


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    """A prompt the server can list as an MCP prompt: string arguments in, prompt text out."""

    name: str
    description: str
    arguments: tuple[str, ...]
    render: Callable[..., str]


def prompt_templates() -> dict[str, PromptTemplate]:
    """The prompts this project ships, by name, for listing as MCP prompts."""
    renderers: dict[str, Callable[..., str]] = {
        "digest_english": _digest_english_prompt,
        "translate_chinese": _translate_chinese_prompt,
        "glossary": lambda: prompt_text("glossary"),
    }
    return {
        spec.name: PromptTemplate(spec.name, spec.description, spec.arguments, renderers[spec.name])
        for spec in PROMPT_SPECS
    }


def _digest_english_prompt(area_name: str, version: str, release_notes: str) -> str:
    head = prompt_text("digest_en_system") + "\n\n" + prompt_text("glossary")
    task = (
        f'Write the digest of the focus area "{area_name}" for Chrome {version}.\n\n'
        f"<<<RELEASE NOTES\n{release_notes.strip()}\nRELEASE NOTES>>>"
    )
    return f"{head}\n\n{task}"


def _translate_chinese_prompt(english_digest: str) -> str:
    head = prompt_text("translate_zh_system") + "\n\n" + prompt_text("glossary")
    return f"{head}\n\n<<<DIGEST\n{english_digest.strip()}\nDIGEST>>>"
