"""A scripted model that is right about the content and makes format slips (for tests and bench).

``compliant_reply`` answers a digest or translation request the way the prompts ask, computed
from the request alone (feature blocks → one section per title with the body's first sentence
and the feature's links; translations → ``fake_translation``). ``SloppyModel`` makes two slips
of the kinds below per reply, chosen by a seeded draw, and records which ones it made.
``corpus_plan`` builds a run plan of a release in the real corpus without a workspace.
"""

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.digest_samples import english_source, fake_translation
from webplatform_digest.areas.data import area_data_set
from webplatform_digest.digest.plan import RunPlan
from webplatform_digest.digest.prompts import RequestOptions, Subject
from webplatform_digest.llm.port import LLMReply, LLMRequest
from webplatform_digest.models import Channel, Language, ReleaseKey
from webplatform_digest.releases.notes import parse_release
from webplatform_digest.storage.area_store import load_catalog

_BLOCK = re.compile(r"^--- Feature \d+ of \d+ ---$", re.MULTILINE)
_LINK_ITEM = re.compile(r"^- (.*?): (\S+)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`])")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")

Slip = Callable[[str], str]


def _title_lines(text: str, change: Callable[[int, str], str]) -> str:
    """Rewrite every ``## `` heading line with ``change(index, title)``."""
    count = 0
    lines: list[str] = []
    for line in text.split("\n"):
        if line.startswith("## "):
            count += 1
            line = change(count, line[3:])
        lines.append(line)
    return "\n".join(lines)


def _first_section_line(text: str, extra: str) -> str:
    head, sep, rest = text.partition("\n## ")
    if not sep:
        return f"{text}\n\n{extra}"
    title, _, body = rest.partition("\n\n")
    return f"{head}\n## {title}\n\n{extra}\n\n{body}"


def _drop_one_link(text: str) -> str:
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if line.startswith("- [") and "](" in line:
            return "\n".join(lines[:index] + lines[index + 1 :])
    return text


#: English slips: each keeps the content and breaks the format in one common way
ENGLISH_SLIPS: dict[str, Slip] = {
    "lead_in": lambda t: f"Sure! Here is the digest you asked for:\n\n{t}",
    "closing": lambda t: f"{t}\n\nI hope this helps! Let me know if you need any changes.",
    "code_fence": lambda t: f"```markdown\n{t}\n```",
    "page_title": lambda t: f"# Release digest\n\n{t}",
    "numbered": lambda t: _title_lines(t, lambda i, title: f"## {i}. {title}"),
    "bold": lambda t: _title_lines(t, lambda _, title: f"## **{title}**"),
    "punctuation": lambda t: _title_lines(t, lambda _, title: f"## {title}:"),
    "case_and_code": lambda t: _title_lines(
        t, lambda _, title: f"## {title.replace('`', '').lower()}"
    ),
    "level3": lambda t: t.replace("\n## ", "\n### ").replace("\n### ", "\n## Features\n\n### ", 1),
    "summary": lambda t: f"{t}\n\n## Summary\n\nThese changes improve the platform.",
    "invented_link": lambda t: _first_section_line(
        t, "Read [the explainer](https://example.com/explainer) for details."
    ),
    "missing_section": lambda t: t[: t.rindex("\n## ")] if t.count("\n## ") > 1 else t,
}
#: Chinese slips
CHINESE_SLIPS: dict[str, Slip] = {
    "lead_in": lambda t: f"好的，以下是翻译：\n\n{t}",
    "closing": lambda t: f"{t}\n\n希望这对您有帮助！如有问题请告诉我。",
    "code_fence": lambda t: f"```markdown\n{t}\n```",
    "page_title": lambda t: f"# 摘要\n\n{t}",
    "level3": lambda t: t.replace("\n## ", "\n### ", 1),
    "summary": lambda t: f"{t}\n\n## 总结\n\n以上就是本次更新的全部内容。",
    "lost_link": _drop_one_link,
    "invented_link": lambda t: _first_section_line(t, "参见[说明](https://example.com/zh)。"),
}


def compliant_english(request: LLMRequest) -> str:
    """The digest the English prompt asks for, written from the feature blocks it quotes."""
    prompt = request.messages[0].text
    overview = "This release brings several changes to this focus area."
    sections: dict[str, str] = {}
    for block in _BLOCK.split(prompt)[1:]:
        title, links, body = _parse_block(block)
        if title in sections:
            continue
        sentence = _first_sentence(body) or f"Chrome adds {title} in this release."
        bullets = "\n".join(f"- [{label}]({url})" for label, url in links)
        sections[title] = "\n\n".join(p for p in (f"## {title}", sentence, bullets) if p)
    return "\n\n".join([overview, *sections.values()])


def _parse_block(block: str) -> tuple[str, list[tuple[str, str]], str]:
    head, _, body = block.partition("\nText:\n")
    title = ""
    links: list[tuple[str, str]] = []
    for line in head.split("\n"):
        if line.startswith("Title: "):
            title = line[len("Title: ") :].strip()
        elif match := _LINK_ITEM.match(line):
            links.append((match.group(1).replace("[", "(").replace("]", ")"), match.group(2)))
    body = body.split("\nRELEASE NOTES>>>")[0]
    return title, links, body


def _first_sentence(body: str) -> str:
    for paragraph in re.split(r"\n\s*\n", body.strip()):
        text = " ".join(paragraph.split())
        if not text or text.startswith(("#", "```", "|", "-", "*", ">", "<")):
            continue
        return _SENTENCE_END.split(text)[0][:600]
    return ""


def compliant_reply(request: LLMRequest) -> str:
    """The reply a compliant model gives to a digest or translation request."""
    if request.meta.language == "zh":
        return fake_translation(english_source(request))
    return compliant_english(request)


@dataclass
class SloppyModel:
    """A script for ``ScriptedBackend`` or a run driver: right content, ``slips`` slips a reply.

    ``made`` maps ``<area>.<language>`` to the slips of that item's first reply.
    """

    seed: int = 0
    slips: int = 2
    only: str | None = None
    made: dict[str, tuple[str, ...]] = field(default_factory=dict[str, tuple[str, ...]])

    def __call__(self, request: LLMRequest) -> LLMReply:
        """Answer with a compliant reply, slipped."""
        text = compliant_reply(request)
        zh = request.meta.language == "zh"
        key = f"{request.meta.area}.{request.meta.language}"
        draw = random.Random(f"{self.seed}:{key}:{request.meta.stage}")
        if self.only is not None:
            table = CHINESE_SLIPS if zh else ENGLISH_SLIPS
            names = (self.only,) if self.only in table else ()
        else:
            names = draw_slips(zh, self.slips, draw)
        self.made.setdefault(key, names)
        return LLMReply(text=apply_slips(text, zh, names), model="sloppy")


def draw_slips(zh: bool, count: int, draw: random.Random) -> tuple[str, ...]:
    """``count`` distinct slip names of the language's table."""
    table = CHINESE_SLIPS if zh else ENGLISH_SLIPS
    return tuple(draw.sample(sorted(table), min(count, len(table))))


def apply_slips(text: str, zh: bool, names: tuple[str, ...]) -> str:
    """``text`` with the named slips made, in order."""
    table = CHINESE_SLIPS if zh else ENGLISH_SLIPS
    for name in names:
        text = table[name](text)
    return text


def corpus_plan(corpus: Path, version: int, *, run_id: str = "bench") -> RunPlan:
    """The bilingual plan of every area with features in ``chrome-<version>.md`` of the corpus."""
    catalog = load_catalog()
    release = parse_release((corpus / f"chrome-{version}.md").read_text(encoding="utf-8"))
    webgpu_path = corpus / f"webgpu-{version}.md"
    webgpu = (
        parse_release(webgpu_path.read_text(encoding="utf-8")) if webgpu_path.exists() else None
    )
    key = ReleaseKey(version, Channel.STABLE)
    data = area_data_set(catalog.classify_release(release, webgpu), key, "")
    subjects = tuple(
        Subject(d, catalog.get(a).name, catalog.get(a).name_zh or catalog.get(a).name)
        for a, d in data.items()
    )
    return RunPlan(
        run_id=run_id,
        version=version,
        channel=Channel.STABLE,
        languages=(Language.EN, Language.ZH),
        subjects=subjects,
        backend="sloppy",
        options=RequestOptions(),
    )
