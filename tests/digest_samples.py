"""Hand-written area data and scripted LLM answers for the digest-run tests (no corpus text)."""

import re
from collections.abc import Callable
from dataclasses import replace

from webplatform_digest.areas.data import dump_area_data
from webplatform_digest.digest.machine import Failure, RunPlan
from webplatform_digest.digest.profiles import profile
from webplatform_digest.digest.prompts import RequestOptions, Subject
from webplatform_digest.digest.state import RunLimits
from webplatform_digest.llm.port import Backend, LLMReply, LLMRequest
from webplatform_digest.models import (
    AreaData,
    AreaStatistics,
    Channel,
    Feature,
    Language,
    Link,
    LinkType,
    ReleaseKey,
)
from webplatform_digest.runs.rounds import ReplyStore, advance_rounds
from webplatform_digest.runs.session import Round, RunServices
from webplatform_digest.runs.summary import RunSummary
from webplatform_digest.storage.commit import atomic_write
from webplatform_digest.storage.workspace import Workspace

NAMES = {
    "css": ("CSS and UI", "CSS 与 UI"),
    "javascript": ("JavaScript", "JavaScript"),
    "graphics-webgpu": ("Graphics and WebGPU", "图形与 WebGPU"),
    "security-privacy": ("Security and privacy", "安全与隐私"),
}


def feature(title: str, n: int, section: str = "Widgets") -> Feature:
    """A made-up feature with two typed links and a link row at the end of its body."""
    bug = f"https://bugs.example.test/issues/{n}"
    status = f"https://status.example.test/feature/{n}"
    body = (
        f"The `{title.split()[0].lower()}` thing now lets authors tune widget {n}.\n\n"
        f"[Tracking bug #{n}]({bug}) | [Status entry]({status})"
    )
    return Feature(
        title=title,
        section=section,
        body=body,
        links=(
            Link(bug, LinkType.TRACKING_BUG, f"Tracking bug #{n}"),
            Link(status, LinkType.CHROMESTATUS, "Status entry"),
        ),
    )


def area(area_id: str, titles: list[str], version: int = 144) -> AreaData:
    """Area data with one made-up feature per title."""
    features = tuple(feature(t, 100 + i) for i, t in enumerate(titles))
    return AreaData(
        version=version,
        channel=Channel.STABLE,
        area=area_id,
        features=features,
        statistics=AreaStatistics(len(features), 2 * len(features)),
        source_hash="h-" + area_id,
    )


def subject(area_id: str, titles: list[str]) -> Subject:
    """A prompt subject for a made-up area."""
    name, name_zh = NAMES.get(area_id, (area_id.title(), area_id))
    return Subject(area(area_id, titles), name, name_zh)


def sample_subjects() -> tuple[Subject, ...]:
    """Three areas: two with features, one empty."""
    return (
        subject("css", ["Caret shapes", "Scroll `snap-type` tweaks", "Highlight pseudos"]),
        subject("javascript", ["Iterator helpers", "Float16 arrays"]),
        subject("graphics-webgpu", []),
    )


def plan(
    subjects: tuple[Subject, ...] | None = None,
    languages: tuple[Language, ...] = (Language.EN, Language.ZH),
    run_id: str = "run-1",
) -> RunPlan:
    """A run plan over the sample subjects."""
    return RunPlan(
        run_id=run_id,
        version=144,
        channel=Channel.STABLE,
        languages=languages,
        subjects=subjects if subjects is not None else sample_subjects(),
        backend="scripted",
        options=RequestOptions(max_tokens=4096),
    )


def valid_english(subj: Subject) -> str:
    """An English digest that passes every check."""
    parts = [f"Chrome {subj.data.version} brings changes to {subj.name}."]
    for f in subj.data.features:
        links = "\n".join(f"- [{link.title}]({link.url})" for link in f.links)
        parts.append(f"## {f.title}\n\nThis change helps developers build widgets.\n\n{links}")
    return "\n\n".join(parts)


_DIGEST = re.compile(r"<<<DIGEST\n(.*)\nDIGEST>>>", re.DOTALL)
_LABEL = re.compile(r"\[[^\]]*\]\(")


#: per language: heading prefix, link label, prose sentence of the fake translations
FAKE_WORDS = {
    "zh": ("功能：", "相关链接", "这项变更让开发者可以更方便地构建网页组件，并改善用户体验。"),
    "zh-TW": ("功能：", "相關連結", "這項變更讓開發人員能更方便地建構網頁元件，並改善使用者體驗。"),
    "ja": ("機能：", "関連リンク", "この変更により、デベロッパーはウェブ コンポーネントを"
           "より簡単に作成できます。"),
    "ko": ("기능: ", "관련 링크", "이 변경으로 개발자는 웹 구성 요소를 더 쉽게 만들 수 있습니다."),
    "es": ("Función: ", "Enlace", "Este cambio permite a los desarrolladores crear componentes "
           "web con más facilidad y mejora la experiencia de los usuarios."),
    "pt-BR": ("Recurso: ", "Link", "Esta mudança permite que os desenvolvedores criem os "
              "componentes da web com mais facilidade e melhora a experiência dos usuários."),
}  # fmt: skip


def fake_translation(english: str, language: str = "zh") -> str:
    """A 'translation' keeping headings and URLs, with prose in ``language``."""
    prefix, label, sentence = FAKE_WORDS[language]
    lines: list[str] = []
    for line in english.split("\n"):
        if line.startswith("#"):
            hashes = line.split(" ", 1)[0]
            lines.append(f"{hashes} {prefix}{line[len(hashes) :].strip()}")
        elif "](" in line:
            lines.append(_LABEL.sub(f"[{label}](", line))
        elif line.startswith(">"):
            lines.append("> 说明" if language == "zh" else f"> {sentence[:4]}")
        elif line.strip():
            lines.append(sentence)
        else:
            lines.append("")
    return "\n".join(lines)


def english_source(request: LLMRequest) -> str:
    """The English digest quoted in a translation request."""
    match = _DIGEST.search(request.messages[0].text)
    assert match, "not a translation request"
    return match.group(1)


def good_answer(subjects: tuple[Subject, ...]) -> Callable[[LLMRequest], LLMReply]:
    """A script answering every request with a valid digest or translation."""
    by_area = {s.data.area: s for s in subjects}

    def answer(request: LLMRequest) -> LLMReply:
        english = valid_english(by_area[request.meta.area])
        if request.meta.language == "en":
            return LLMReply(text=english, model="m")
        # a translation quotes the English; a parallel-mode request is written from the data
        source = english_source(request) if "<<<DIGEST" in request.messages[0].text else english
        return LLMReply(text=fake_translation(source, request.meta.language), model="m")

    return answer


def write_processed(workspace: Workspace, subjects: tuple[Subject, ...]) -> None:
    """Write the per-area YAML files of the subjects that have features (as ``process`` does)."""
    for subj in subjects:
        if subj.data.features:
            key = ReleaseKey(subj.data.version, subj.data.channel)
            rel = Workspace.area_data_rel(subj.data.area, key)
            atomic_write(workspace.path(rel), dump_area_data(subj.data))


class DirectGovernor:
    """Calls the backend directly with an in-memory reply cache (a stand-in for the governor)."""

    def __init__(self) -> None:
        self.cache: dict[tuple[str, str, str], LLMReply] = {}
        self.deadlines: list[float] = []

    async def call(
        self, backend: Backend, request: LLMRequest, *, use_cache: bool = True, deadline: float
    ) -> LLMReply:
        """Answer from the cache or the backend."""
        self.deadlines.append(deadline)
        key = (backend.name, backend.model, request.prompt_digest())
        if use_cache and key in self.cache:
            return replace(self.cache[key], cached=True)
        reply = await backend.complete(request)
        if use_cache:
            self.cache[key] = reply
        return reply

    def forget(self, backend: Backend, request: LLMRequest) -> None:
        """Drop a cached reply."""
        self.cache.pop((backend.name, backend.model, request.prompt_digest()), None)


def _prompt_language(prompt: str) -> str:
    """The target language a translation prompt names (``zh`` when none of the others)."""
    for code in FAKE_WORDS:
        if code != "zh" and f"({profile(code).native_name})" in prompt:
            return code
    return "zh"


def answer_from_prompt(prompt: str) -> str:
    """A valid reply computed from the prompt text alone (for loopback LLM servers).

    English: one section per heading the prompt requires. Translations: a fake translation of
    the quoted digest into the language the prompt names.
    """
    quoted = _DIGEST.search(prompt)
    if quoted:
        return fake_translation(quoted.group(1), _prompt_language(prompt))
    required = re.sub(r"<<<RELEASE NOTES.*?RELEASE NOTES>>>", "", prompt, flags=re.DOTALL)
    headings = [line for line in required.split("\n") if line.startswith("## ")]
    sections = [f"{h}\n\nWith {h[3:]}, developers build better pages." for h in headings]
    return "\n\n".join(["An overview of the area in this release.", *sections])


async def answer_round(
    services: RunServices,
    step: Round,
    answer: Callable[[LLMRequest], LLMReply | Failure],
    limits: RunLimits,
    *,
    cache: ReplyStore | None = None,
) -> Round | RunSummary:
    """The step after answering every request of an input-required round with ``answer``."""
    replies = {pending.request_id: answer(pending.request) for pending in step.requests}
    return await advance_rounds(
        services, step.run_id, step.token, replies, limits=limits, cache=cache
    )
