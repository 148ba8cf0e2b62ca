"""A model that is right about the content but slips on the format still writes the digests."""

from pathlib import Path

import pytest

from tests.digest_samples import plan, sample_subjects
from tests.slips import CHINESE_SLIPS, ENGLISH_SLIPS, SloppyModel, compliant_english, corpus_plan
from webplatform_digest.digest.machine import DigestRun
from webplatform_digest.digest.markdown import headings
from webplatform_digest.digest.plan import RunPlan
from webplatform_digest.digest.prompts import RequestOptions, english_request, validate_english
from webplatform_digest.models import DigestStatus, Language

WRITTEN = {DigestStatus.OK, DigestStatus.REPAIRED, DigestStatus.RETRIED, DigestStatus.PARTIAL}


def _run(run_plan: RunPlan, model: SloppyModel) -> DigestRun:
    run = DigestRun(run_plan)
    while not run.done:
        for pending in run.ready_requests(16):
            run.feed(pending.request_id, model(pending.request))
    return run


@pytest.mark.parametrize("slip", sorted(set(ENGLISH_SLIPS) | set(CHINESE_SLIPS)))
def test_every_slip_kind_alone_is_repaired_in_both_languages(slip: str) -> None:
    """One slip per reply: every digest is written by the model (format slips: repaired)."""
    run = _run(plan(sample_subjects()), SloppyModel(only=slip, slips=1))
    for digest in run.results():
        if digest.status is DigestStatus.EMPTY:
            continue
        table = ENGLISH_SLIPS if digest.language is Language.EN else CHINESE_SLIPS
        expected = DigestStatus.REPAIRED if slip in table else DigestStatus.OK
        if slip == "missing_section" and slip in table:
            expected = DigestStatus.RETRIED  # a content miss: the focused retry fills it
        assert digest.status is expected, (digest.area, digest.language, slip)
        assert "Sure!" not in digest.markdown
        assert "```markdown" not in digest.markdown


@pytest.mark.corpus
def test_two_slips_per_reply_over_chrome_143_and_144_leave_no_fallback(corpus_dir: Path) -> None:
    """≥ 95 % of 64 digests are model-written and no slip reaches an accepted English digest."""
    digests = written = 0
    for version in (143, 144):
        run_plan = corpus_plan(corpus_dir, version)
        titles = {s.data.area: s.titles for s in run_plan.subjects}
        for digest in _run(run_plan, SloppyModel(seed=version)).results():
            digests += 1
            written += digest.status in WRITTEN
            if digest.language is Language.EN and digest.status in WRITTEN:
                level2 = [h.text for h in headings(digest.markdown) if h.level <= 2]
                assert level2 == list(titles[digest.area])
                assert "Sure!" not in digest.markdown
                assert "example.com" not in digest.markdown
    assert written / digests >= 0.95


@pytest.mark.corpus
def test_compliant_replies_over_the_corpus_pass_the_content_checks(corpus_dir: Path) -> None:
    """No false rejection by the echo, empty-section or relevance checks on any release."""
    content = ("prose of their own", "do not mention anything", "repeat the prompt")
    names = sorted(p.stem for p in corpus_dir.glob("chrome-*.md"))
    versions = [
        int(n.removeprefix("chrome-")) for n in names if n.removeprefix("chrome-").isdigit()
    ]
    for version in versions:
        for subject in corpus_plan(corpus_dir, version).subjects:
            plain = "\n\n".join(
                ["An overview of the area."]
                + [f"## {t}\n\nChrome adds {t} in this release." for t in subject.titles]
            )
            first = compliant_english(english_request(subject, RequestOptions()))
            for text in (first, plain):
                problems = validate_english(subject, text).problems
                assert not [p for p in problems if any(c in p for c in content)], version
