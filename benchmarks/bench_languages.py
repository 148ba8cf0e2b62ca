"""Target languages: the critical path of a release, translated after English or in parallel.

The pure run machine is driven on a simulated clock (no sleeps) by a fake LLM whose latency is
a fixed overhead plus a time per output character (``OVERHEAD`` + chars / ``CHARS_PER_SECOND``,
about 100 tokens a second). Sequential mode translates the final English (EN + XX); parallel
mode writes every language from the area data beside English and checks it once the English is
final (max(EN, XX)). Figures: the simulated wall time of one release in both modes, with
unbounded concurrency (the critical path) and with C = 4 slots, and how many digests the checks
accepted (a mode that only looked fast by falling back would show here).
"""

import heapq
import re
from typing import Any

from webplatform_digest.digest.machine import DigestRun
from webplatform_digest.digest.plan import RunPlan
from webplatform_digest.digest.prompts import RequestOptions, Subject
from webplatform_digest.llm.port import LLMReply, LLMRequest
from webplatform_digest.models import (
    AreaData,
    AreaStatistics,
    Channel,
    DigestStatus,
    Feature,
    Language,
    Link,
    LinkType,
)

OVERHEAD = 0.4
CHARS_PER_SECOND = 400.0
AREAS = 6
FEATURES = 5
LANGUAGES = tuple(Language(code) for code in ("en", "zh", "ja", "es"))
_DIGEST = re.compile(r"<<<DIGEST\n(.*)\nDIGEST>>>", re.DOTALL)
_NOTES = re.compile(r"<<<RELEASE NOTES.*?RELEASE NOTES>>>", re.DOTALL)
_LABEL = re.compile(r"\[[^\]]*\]\(")
_PROSE = {
    "en": "This change lets web developers build faster pages with less code, and it ships "
    "to every user of the stable channel.",
    "zh": "这项变更让 Web 开发者可以用更少的代码构建更快的网页，并面向所有稳定版用户发布。",
    "ja": "この変更により、ウェブ デベロッパーは少ないコードでより速いページを作成できます。",
    "es": "Este cambio permite a los desarrolladores web crear páginas más rápidas con menos "
    "código, y llega a todos los usuarios del canal estable.",
}


def _subject(index: int) -> Subject:
    area = f"area-{index}"
    features = tuple(
        Feature(
            title=f"CaretShape{index}x{n} property",
            section="Web APIs",
            body=f"The CaretShape{index}x{n} property changes how carets look. " * 20,
            links=(
                Link(
                    f"https://issues.chromium.org/issues/{index}{n}",
                    LinkType.TRACKING_BUG,
                    "Tracking bug",
                ),
            ),
        )
        for n in range(FEATURES)
    )
    stats = AreaStatistics(FEATURES, FEATURES, (("tracking_bug", FEATURES),))
    data = AreaData(144, Channel.STABLE, area, features, stats)
    return Subject(data, f"Area {index}", f"领域 {index}")


def _english(prompt: str) -> str:
    headings = [line for line in _NOTES.sub("", prompt).split("\n") if line.startswith("## ")]
    links = re.findall(r"^- [^:]+: (https://\S+)$", prompt, re.MULTILINE)
    sections = [
        f"{h}\n\n{h[3:]}: {_PROSE['en']}\n\n- [Tracking bug]({url})"
        for h, url in zip(headings, links, strict=False)
    ]
    return "\n\n".join(["An overview of the area in this release.", *sections])


def _translate(english: str, language: str) -> str:
    lines: list[str] = []
    for line in english.split("\n"):
        if line.startswith("#") or not line.strip():
            lines.append(line)
        elif "](" in line:
            lines.append(_LABEL.sub("[link](", line))
        else:
            lines.append(_PROSE[language])
    return "\n".join(lines)


def _answer(request: LLMRequest) -> str:
    prompt = request.messages[0].text
    quoted = _DIGEST.search(prompt)
    if request.meta.language == "en":
        return _english(prompt)
    return _translate(quoted.group(1) if quoted else _english(prompt), request.meta.language)


def _simulate(parallel: bool, slots: int) -> dict[str, float]:
    """Simulated seconds until every digest is final, and the accepted share."""
    subjects = tuple(_subject(i) for i in range(AREAS))
    plan = RunPlan("bench", 144, Channel.STABLE, LANGUAGES, subjects, "fake",
                   RequestOptions(max_tokens=8192), parallel=parallel)  # fmt: skip
    run = DigestRun(plan)
    now, calls = 0.0, 0
    flying: list[tuple[float, int, str, str]] = []
    while not run.done:
        for pending in run.ready_requests(slots - len(flying)):
            text = _answer(pending.request)
            done_at = now + OVERHEAD + len(text) / CHARS_PER_SECOND
            heapq.heappush(flying, (done_at, calls, pending.request_id, text))
            calls += 1
        now, _, request_id, text = heapq.heappop(flying)
        run.feed(request_id, LLMReply(text))
    accepted = sum(1 for d in run.results() if d.status is DigestStatus.OK)
    return {"seconds": round(now, 3), "calls": calls, "accepted": accepted,
            "digests": len(run.results())}  # fmt: skip


def run() -> dict[str, Any]:
    """Both modes at unbounded concurrency (the critical path) and at C = 4."""
    figures: dict[str, Any] = {"languages": ",".join(LANGUAGES), "areas": AREAS}
    for slots, name in ((10_000, "critical_path"), (4, "c4")):
        sequential = _simulate(False, slots)
        parallel = _simulate(True, slots)
        figures[f"{name}_sequential_s"] = sequential["seconds"]
        figures[f"{name}_parallel_s"] = parallel["seconds"]
        figures[f"{name}_speedup"] = round(sequential["seconds"] / parallel["seconds"], 3)
        figures[f"{name}_accepted"] = (
            f"{sequential['accepted']}/{sequential['digests']} sequential, "
            f"{parallel['accepted']}/{parallel['digests']} parallel"
        )
    return figures
