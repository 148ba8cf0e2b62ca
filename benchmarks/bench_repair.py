"""Near-miss replies: how many digests the model still writes when it slips on the format.

A scripted model that is right about the content makes two format slips per reply (lead-in,
closing remark, code fence, page title, numbered/bold/punctuated/recased headings, ``###``
under an invented ``## Features``, a summary section, an invented link; for translations also
a lost link bullet). Every area of Chrome 143 and 144 from the corpus runs through the digest
state machine in both languages. Reported: the share of digests written by the model (``ok``,
``repaired``, ``retried`` or ``partial``) overall and per slip type, the share the checks
alone would have accepted without repair, whether any slip survived into an accepted digest,
content-check false rejections of compliant replies over every Chrome release, and the
estimated prompt size in tokens of the first English and Chinese requests.
"""

import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.slips import ENGLISH_SLIPS, SloppyModel, compliant_english, corpus_plan

from benchmarks.common import corpus_dir, percentile
from webplatform_digest.digest.checks import check_chinese, check_english
from webplatform_digest.digest.machine import DigestRun
from webplatform_digest.digest.markdown import headings
from webplatform_digest.digest.prompts import (
    RequestOptions,
    allowed_urls,
    chinese_request,
    english_request,
    fallback_english,
    max_chars,
    prompt_tokens,
    validate_english,
)
from webplatform_digest.models import DigestStatus, Language

VERSIONS = (143, 144)
SEEDS = (0, 1, 2)
#: statuses of digests the model wrote (repaired or not)
WRITTEN = frozenset(
    {DigestStatus.OK, DigestStatus.REPAIRED, DigestStatus.RETRIED, DigestStatus.PARTIAL}
)
#: problems only the content checks report
_CONTENT = ("prose of their own", "do not mention anything", "repeat the prompt")
#: text a slip plants that must never reach an accepted digest
_LEFTOVERS = (
    "Sure!",
    "I hope this helps",
    "以下是翻译",
    "希望这对您有帮助",
    "```markdown",
    "example.com",
    "## Summary",
    "## 总结",
    "## Features",
    "# Release digest",
    "# 摘要",
)


def run() -> dict[str, Any]:
    """Figures of the slip benchmark (skipped without the corpus)."""
    corpus = corpus_dir()
    if corpus is None:
        return {"skipped": "corpus not found"}
    started = time.perf_counter()
    figures = _slipped_runs(corpus)
    figures.update(_false_rejections(corpus))
    figures.update(_prompt_sizes(corpus))
    figures["seconds"] = round(time.perf_counter() - started, 3)
    return figures


def _slipped_runs(corpus: Path) -> dict[str, Any]:
    totals: Counter[str] = Counter()
    per_slip: dict[str, Counter[str]] = {}
    raw_accepted = digests = leftovers = 0
    for seed in SEEDS:
        for version in VERSIONS:
            plan = corpus_plan(corpus, version)
            model = SloppyModel(seed=seed)
            machine = DigestRun(plan)
            first: dict[str, str] = {}
            while not machine.done:
                for pending in machine.ready_requests(16):
                    reply = model(pending.request)
                    if pending.attempt == 1:
                        first[f"{pending.area}.{pending.language.value}"] = reply.text
                    machine.feed(pending.request_id, reply)
            subjects = {s.data.area: s for s in plan.subjects}
            english = {d.area: d.markdown for d in machine.results() if d.language is Language.EN}
            for digest in machine.results():
                if not subjects[digest.area].data.features:
                    continue
                key = f"{digest.area}.{digest.language.value}"
                written = digest.status in WRITTEN
                digests += 1
                totals["written" if written else digest.status.value] += 1
                totals[f"status_{digest.status.value}"] += 1
                for slip in model.made.get(key, ()):
                    per_slip.setdefault(f"{digest.language.value}_{slip}", Counter())[
                        "written" if written else "not"
                    ] += 1
                subject = subjects[digest.area]
                if digest.language is Language.EN:
                    raw = check_english(
                        first[key],
                        subject.titles,
                        allowed_urls(subject.data),
                        max_chars=max_chars(len(subject.titles)),
                    )
                else:
                    raw = check_chinese(first[key], english[digest.area], max_chars=100_000)
                raw_accepted += int(raw.ok)
                if written and _has_leftover(digest.markdown, subject.titles, digest.language):
                    leftovers += 1
    figures: dict[str, Any] = {
        "digests": digests,
        "model_written_share": round(totals["written"] / max(1, digests), 4),
        "accepted_without_repair_share": round(raw_accepted / max(1, digests), 4),
        "fallbacks": totals["fallback"],
        "slips_left_in_written_digests": leftovers,
        **{k: v for k, v in sorted(totals.items()) if k.startswith("status_")},
    }
    for name in sorted(per_slip):
        counts = per_slip[name]
        share = counts["written"] / max(1, counts["written"] + counts["not"])
        figures[f"written_share_{name}"] = round(share, 4)
    return figures


def _has_leftover(markdown: str, titles: tuple[str, ...], language: Language) -> bool:
    if any(marker in markdown for marker in _LEFTOVERS):
        return True
    if language is Language.EN:
        level2 = [h.text for h in headings(markdown) if h.level <= 2]
        return level2 != list(titles)
    return False


def _false_rejections(corpus: Path) -> dict[str, Any]:
    """Compliant replies (first sentence, or a plain mention of the title) over every release."""
    versions = sorted(
        int(p.stem.removeprefix("chrome-"))
        for p in corpus.glob("chrome-*.md")
        if p.stem.removeprefix("chrome-").isdigit()
    )
    replies = sections = rejected = 0
    for version in versions:
        for subject in corpus_plan(corpus, version).subjects:
            if not subject.data.features:
                continue
            plain = "\n\n".join(
                ["An overview of the area."]
                + [f"## {t}\n\nChrome adds {t} in this release." for t in subject.titles]
            )
            for text in (compliant_english(english_request(subject, RequestOptions())), plain):
                replies += 1
                sections += len(subject.titles)
                problems = validate_english(subject, text).problems
                rejected += int(any(c in p for p in problems for c in _CONTENT))
    return {
        "compliant_replies_checked": replies,
        "compliant_sections_checked": sections,
        "content_check_false_rejections": rejected,
        "slip_kinds": len(ENGLISH_SLIPS),
    }


def _prompt_sizes(corpus: Path) -> dict[str, Any]:
    """Estimated tokens of the first requests of every area of Chrome 143 and 144."""
    english: list[float] = []
    chinese: list[float] = []
    for version in VERSIONS:
        for subject in corpus_plan(corpus, version).subjects:
            if subject.data.features:
                english.append(prompt_tokens(english_request(subject, RequestOptions())))
                source = fallback_english(subject)
                chinese.append(prompt_tokens(chinese_request(subject, source, RequestOptions())))
    return {
        "prompt_tokens_en_p50": round(percentile(english, 50)),
        "prompt_tokens_en_max": round(max(english, default=0)),
        "prompt_tokens_zh_p50": round(percentile(chinese, 50)),
        "prompt_tokens_zh_max": round(max(chinese, default=0)),
    }
