"""The digest-run state machine: ordering, retries, fallbacks, outcomes, snapshots."""

import json
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.digest_samples import good_answer, plan, sample_subjects, subject, valid_english
from webplatform_digest.digest.codec import restore_run, run_snapshot
from webplatform_digest.digest.files import parse_digest_file, render_digest_file
from webplatform_digest.digest.languages import parse_languages
from webplatform_digest.digest.machine import DigestRun, Failure
from webplatform_digest.digest.prompts import UNTRANSLATED_BANNER
from webplatform_digest.errors import InputError, RunStateError
from webplatform_digest.llm.port import LLMReply, LLMRequest
from webplatform_digest.models import DigestStatus, Language


def _drive(
    run: DigestRun, answer: Callable[[LLMRequest], LLMReply | Failure], limit: int = 4
) -> int:
    """Answer every ready request in rounds; return the number of rounds."""
    rounds = 0
    while not run.done:
        batch = run.ready_requests(limit)
        assert batch, "a run that is not done must have ready requests when none is in flight"
        rounds += 1
        for pending in batch:
            run.feed(pending.request_id, answer(pending.request))
    return rounds


def test_valid_replies_give_ok_digests_in_every_requested_language() -> None:
    """Two areas with features are ok in both languages; the empty area gets empty pages."""
    subjects = sample_subjects()
    run = DigestRun(plan(subjects))
    _drive(run, good_answer(subjects))
    assert run.statuses() == {
        "css": {"en": "ok", "zh": "ok"},
        "javascript": {"en": "ok", "zh": "ok"},
        "graphics-webgpu": {"en": "empty", "zh": "empty"},
    }
    assert run.llm_calls == 4
    assert run.fallbacks == 0
    digests = {(d.area, d.language): d for d in run.results()}
    assert digests[("css", Language.ZH)].title == "CSS 与 UI — Chrome 144"
    assert digests[("css", Language.EN)].backend == "scripted"
    assert digests[("graphics-webgpu", Language.EN)].backend == "deterministic"


def test_english_requests_go_before_chinese_ones_and_chinese_starts_without_a_barrier() -> None:
    """css.zh becomes ready as soon as css.en is accepted, while javascript.en is in flight."""
    subjects = sample_subjects()
    run = DigestRun(plan(subjects))
    answer = good_answer(subjects)
    first = run.ready_requests(4)
    assert [p.request_id for p in first] == ["css.en.1", "javascript.en.1"]
    run.feed("css.en.1", answer(first[0].request))
    assert [p.request_id for p in run.ready_requests(4)] == ["css.zh.1"]
    assert set(run.in_flight) == {"javascript.en.1", "css.zh.1"}


def test_ready_requests_are_bounded_by_the_limit() -> None:
    """Never more than ``limit`` requests per call; zero gives none."""
    subjects = tuple(subject(f"a{i}", ["One"]) for i in range(7))
    run = DigestRun(plan(subjects))
    assert run.ready_requests(0) == ()
    assert len(run.ready_requests(3)) == 3
    assert len(run.ready_requests(10)) == 4


@pytest.mark.parametrize("areas", [1, 2, 3, 4, 5, 7, 8, 9, 13])
def test_rounds_meet_the_schedule_limit_of_two_chained_stages(areas: int) -> None:
    """With C = 4 slots, N areas need max(2, ceil(2N/C)) rounds: EN-first is optimal."""
    subjects = tuple(subject(f"a{i}", ["One", "Two"]) for i in range(areas))
    run = DigestRun(plan(subjects))
    assert _drive(run, good_answer(subjects), limit=4) == max(2, math.ceil(2 * areas / 4))


def _bad(_: LLMRequest) -> LLMReply:
    return LLMReply(text="Here is a digest without headings. https://evil.example.test/")


def test_an_invalid_reply_gets_one_corrective_retry_stating_the_problems() -> None:
    """First reply invalid, second valid: status retried, reason names the problems."""
    subjects = (sample_subjects()[1],)
    run = DigestRun(plan(subjects, languages=(Language.EN,)))
    first = run.ready_requests(4)[0]
    outcomes = run.feed(first.request_id, _bad(first.request))
    assert [(o.stage, o.outcome) for o in outcomes] == [("english_generation", "retried")]
    retry = run.ready_requests(4)[0]
    assert retry.request_id == "javascript.en.2"
    assert retry.request.meta.stage == "english_retry"
    assert "no '## <title>' heading: Float16 arrays, Iterator" in retry.request.messages[-1].text
    run.feed(retry.request_id, good_answer(subjects)(retry.request))
    (digest,) = run.results()
    assert digest.status is DigestStatus.RETRIED
    assert digest.reason.startswith("corrected after: these features have no")


def test_two_invalid_replies_end_in_the_deterministic_fallback() -> None:
    """Invalid, invalid: fallback, with every stage outcome recorded."""
    subjects = (sample_subjects()[1],)
    run = DigestRun(plan(subjects))
    _drive(run, _bad)
    assert run.statuses() == {"javascript": {"en": "fallback", "zh": "fallback"}}
    assert [(o.language, o.stage, o.outcome) for o in run.outcomes] == [
        ("en", "english_generation", "retried"),
        ("en", "english_retry", "error"),
        ("en", "english_fallback", "fallback"),
        ("zh", "translation", "retried"),
        ("zh", "translation_retry", "error"),
        ("zh", "translation_fallback", "fallback"),
        ("", "area_total", "fallback"),
    ]
    zh = run.area_digests("javascript")[1]
    assert zh.markdown.startswith(UNTRANSLATED_BANNER)
    assert zh.reason.startswith("still invalid after a corrective retry")
    assert run.fallbacks == 2


def test_a_failed_call_falls_back_at_once_without_a_corrective_retry() -> None:
    """The governor already retried transport errors; a failure is final."""
    subjects = (sample_subjects()[1],)
    run = DigestRun(plan(subjects, languages=(Language.EN,)))
    pending = run.ready_requests(4)[0]
    run.feed(pending.request_id, Failure("BackendError", "HTTP 503"))
    assert run.done
    (digest,) = run.results()
    assert digest.status is DigestStatus.FALLBACK
    assert digest.reason == "LLM call failed: BackendError: HTTP 503"
    assert run.llm_calls == 1


def test_the_offline_answer_is_accepted_as_a_fallback_without_retry() -> None:
    """A reply equal to the request's fallback (offline backend) is final."""
    subjects = (sample_subjects()[0],)
    run = DigestRun(plan(subjects))
    rounds = _drive(run, lambda r: LLMReply(text=r.meta.fallback))
    assert rounds == 2
    assert run.statuses() == {"css": {"en": "fallback", "zh": "fallback"}}
    assert all(d.backend == "scripted" for d in run.results())
    assert run.results()[0].reason == "offline digest (no LLM)"
    assert run.llm_calls == 0


def test_cached_replies_are_counted_and_marked_cached() -> None:
    """A cache answer is not an LLM call."""
    subjects = (sample_subjects()[1],)
    run = DigestRun(plan(subjects))
    answer = good_answer(subjects)
    _drive(run, lambda r: LLMReply(text=answer(r).text, cached=True))
    assert run.statuses() == {"javascript": {"en": "cached", "zh": "cached"}}
    assert (run.llm_calls, run.cache_hits) == (0, 2)
    assert run.outcomes[-1].outcome == "cached"


def test_a_chinese_only_run_generates_english_first_but_reports_only_chinese() -> None:
    """The English is an intermediate step of a zh run."""
    subjects = (sample_subjects()[1],)
    run = DigestRun(plan(subjects, languages=(Language.ZH,)))
    assert run.ready_requests(4)[0].request_id == "javascript.en.1"
    run.requeue_in_flight()
    _drive(run, good_answer(subjects))
    assert run.statuses() == {"javascript": {"zh": "ok"}}
    assert [d.language for d in run.results()] == [Language.ZH]
    assert run.progress().total == 2


def test_feeding_an_unknown_or_answered_request_is_a_run_state_error() -> None:
    """Replies are accepted once, and only for requests in flight."""
    subjects = (sample_subjects()[1],)
    run = DigestRun(plan(subjects))
    pending = run.ready_requests(1)[0]
    with pytest.raises(RunStateError, match="not awaiting a reply"):
        run.feed("css.en.1", LLMReply(text="x"))
    run.feed(pending.request_id, Failure("X"))
    with pytest.raises(RunStateError):
        run.feed(pending.request_id, Failure("X"))


def test_fail_remaining_gives_every_open_item_its_fallback() -> None:
    """A passed deadline still ends with a digest for every item."""
    run = DigestRun(plan())
    run.ready_requests(1)
    outcomes = run.fail_remaining("run deadline passed")
    assert run.done
    assert {o.outcome for o in outcomes} == {"fallback"}
    assert run.reasons()["css"] == {"en": "run deadline passed", "zh": "run deadline passed"}


def test_requeued_requests_are_issued_again_under_the_same_id() -> None:
    """Replies lost in a restart are asked for again."""
    run = DigestRun(plan())
    ids = [p.request_id for p in run.ready_requests(4)]
    assert run.requeue_in_flight() == tuple(ids)
    assert [p.request_id for p in run.ready_requests(4)] == ids


def test_a_snapshot_restores_into_the_same_run_and_continues() -> None:
    """Snapshot mid-run, JSON round trip, restore, finish: same result as straight through."""
    subjects = sample_subjects()
    answer = good_answer(subjects)
    straight = DigestRun(plan(subjects))
    _drive(straight, answer)
    run = DigestRun(plan(subjects))
    first = run.ready_requests(4)
    run.feed(first[0].request_id, _bad(first[0].request))
    restored = restore_run(json.loads(json.dumps(run_snapshot(run))))
    assert restored.in_flight == run.in_flight
    assert restored.request_for("javascript.en.1") == run.request_for("javascript.en.1")
    restored.feed(first[1].request_id, answer(first[1].request))
    _drive(restored, answer)
    assert restored.statuses()["javascript"] == straight.statuses()["javascript"]
    assert restored.statuses()["css"] == {"en": "retried", "zh": "ok"}
    assert restored.llm_calls == 5


def test_progress_counts_items_and_names_the_latest() -> None:
    """Progress is completed/total over pipeline items."""
    subjects = sample_subjects()
    run = DigestRun(plan(subjects))
    assert (run.progress().completed, run.progress().total) == (2, 6)
    _drive(run, good_answer(subjects))
    progress = run.progress()
    assert (progress.completed, progress.total) == (6, 6)
    assert progress.message == "6/6 digests ready; javascript zh: ok"


def test_languages_are_parsed_from_codes_lists_and_the_bilingual_alias() -> None:
    """en, zh, bilingual keep working; lists put English first; unknown codes are refused."""
    assert parse_languages("bilingual") == (Language.EN, Language.ZH)
    assert parse_languages("zh") == (Language.ZH,)
    assert parse_languages("ja, en,zh,ja") == (Language.EN, Language("ja"), Language.ZH)
    assert parse_languages(["pt-BR", "zh-TW"]) == (Language("pt-BR"), Language("zh-TW"))
    with pytest.raises(InputError, match="en, es, ja, ko, pt-BR, zh, zh-TW, bilingual"):
        parse_languages("fr")
    with pytest.raises(InputError):
        parse_languages("")


class RunInterleavings(RuleBasedStateMachine):
    """Any interleaving of issues, replies, failures and restarts ends with every digest."""

    def __init__(self) -> None:
        super().__init__()
        self.subjects = (*sample_subjects(), subject("security-privacy", ["Origin isolation"]))
        self.run = DigestRun(plan(self.subjects))
        self.good = good_answer(self.subjects)

    @rule(limit=st.integers(0, 5))
    def issue(self, limit: int) -> None:
        """Issue a bounded batch."""
        before = len(self.run.in_flight)
        batch = self.run.ready_requests(limit)
        assert len(batch) <= limit
        assert len(self.run.in_flight) == before + len(batch)

    @precondition(lambda self: bool(self.run.in_flight))
    @rule(pick=st.integers(0, 20), kind=st.sampled_from(["good", "bad", "fail", "offline"]))
    def answer(self, pick: int, kind: str) -> None:
        """Answer one in-flight request, any of them, in any way."""
        rid = self.run.in_flight[pick % len(self.run.in_flight)]
        request = self.run.request_for(rid)
        result: LLMReply | Failure = {
            "good": lambda: self.good(request),
            "bad": lambda: _bad(request),
            "fail": lambda: Failure("BackendError", "down"),
            "offline": lambda: LLMReply(text=request.meta.fallback),
        }[kind]()
        self.run.feed(rid, result)

    @rule()
    def restart(self) -> None:
        """Persist and restore (replies in flight survive for the round driver)."""
        self.run = restore_run(json.loads(json.dumps(run_snapshot(self.run))))

    @invariant()
    def attempts_are_bounded_and_chinese_waits_for_english(self) -> None:
        """No item past its second attempt; no Chinese request before its English is final."""
        for rid in self.run.in_flight:
            area, language, attempt = rid.split(".")
            assert int(attempt) <= 2
            if language == "zh":
                assert self.run.statuses()[area].get("en") not in (None, "pending")

    def teardown(self) -> None:
        """Drain with failures: the run must end with a digest for every requested item."""
        for _ in range(100):
            if self.run.done:
                break
            for rid in self.run.in_flight:
                self.run.feed(rid, Failure("BackendError", "down"))
            self.run.ready_requests(100)
        assert self.run.done
        for row in self.run.statuses().values():
            assert set(row) == {"en", "zh"}
            assert "pending" not in row.values()
        assert all(d.markdown.strip() for d in self.run.results())
        assert len(self.run.results()) == 2 * len(self.subjects)


RunInterleavings.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_any_interleaving_terminates_with_every_digest = pytest.mark.slow(RunInterleavings.TestCase)


GOLDEN = Path(__file__).resolve().parents[1] / "data" / "digest" / "compliant-run.md"


def test_a_compliant_model_gives_the_same_digest_files_byte_for_byte() -> None:
    """Repair and the content checks change nothing for replies that were already accepted."""
    subjects = sample_subjects()
    run = DigestRun(plan(subjects))
    _drive(run, good_answer(subjects))
    written = b"".join(
        render_digest_file(replace(d, generated_at="2026-01-13T10:00:00Z")) for d in run.results()
    )
    assert written == GOLDEN.read_bytes()


def test_a_reply_with_format_slips_is_accepted_as_repaired_and_names_its_repairs() -> None:
    """Chatter and a numbered level-3 heading are repaired; status, stage and file say so."""
    subjects = (sample_subjects()[1],)
    run = DigestRun(plan(subjects, languages=(Language.EN,)))
    (first,) = run.ready_requests(4)
    good = good_answer(subjects)(first.request).text
    slipped = "Sure! Here is the digest:\n\n" + good.replace("## Iterator", "### 1. Iterator")
    outcomes = run.feed(first.request_id, LLMReply(text=slipped, model="m"))
    assert (outcomes[0].stage, outcomes[0].outcome, outcomes[0].reason) == (
        "english_generation",
        "repaired",
        "repairs: chatter, heading_text, heading_level",
    )
    (digest,) = run.results()
    assert digest.status is DigestStatus.REPAIRED
    assert digest.markdown == good
    assert digest.repairs == ("chatter", "heading_text", "heading_level")
    front = render_digest_file(digest).decode()
    assert "\nstatus: repaired\n" in front
    assert "\nrepairs:\n- chatter\n- heading_text\n- heading_level\ninput_hash: " in front
    assert parse_digest_file(render_digest_file(digest)).repairs == digest.repairs


def test_prompt_echoes_and_empty_sections_are_never_accepted() -> None:
    """Both replies are retried and, repeated, end in the deterministic fallback."""
    subjects = (sample_subjects()[1],)
    for reply in (
        lambda request: request.messages[0].text.split("RELEASE NOTES>>>")[1],
        lambda request: "\n\n".join(
            ["Overview of JavaScript."]
            + [
                f"## {t}\n\n- [Bug](https://bugs.example.test/issues/100)"
                for t in subjects[0].titles
            ]
        ),
    ):
        run = DigestRun(plan(subjects, languages=(Language.EN,)))
        _drive(run, lambda request, reply=reply: LLMReply(text=reply(request), model="m"))
        assert run.statuses() == {"javascript": {"en": "fallback"}}


JA, KO, ES = Language("ja"), Language("ko"), Language("es")


def test_every_requested_language_is_translated_from_the_final_english() -> None:
    """en,zh,ja,es: four digests per area, each translation requested after its English."""
    subjects = sample_subjects()
    run = DigestRun(plan(subjects, languages=(Language.EN, Language.ZH, JA, ES)))
    first = run.ready_requests(10)
    assert [p.request_id for p in first] == ["css.en.1", "javascript.en.1"]
    for pending in first:
        run.feed(pending.request_id, good_answer(subjects)(pending.request))
    translations = run.ready_requests(10)
    assert sorted(p.language.value for p in translations) == ["es", "es", "ja", "ja", "zh", "zh"]
    ja_request = next(p.request for p in translations if p.language is JA)
    assert "Japanese (日本語)" in ja_request.system
    assert "オリジントライアル" in ja_request.system
    for pending in translations:
        run.feed(pending.request_id, good_answer(subjects)(pending.request))
    assert run.statuses()["css"] == {"en": "ok", "zh": "ok", "ja": "ok", "es": "ok"}
    assert run.statuses()["graphics-webgpu"]["ja"] == "empty"
    empty = {(d.area, d.language): d for d in run.results()}[("graphics-webgpu", JA)]
    assert "変更はありません" in empty.markdown


def test_an_english_reply_to_a_korean_request_gets_a_retry_then_a_korean_fallback() -> None:
    """The untranslated reply is refused twice; the fallback says so in Korean."""
    subjects = (subject("css", ["Caret shapes"]),)
    run = DigestRun(plan(subjects, languages=(Language.EN, KO)))

    def english_everywhere(request: LLMRequest) -> LLMReply:
        return LLMReply(
            valid_english(subjects[0]) + "\n\nIt is used by the web and you can try it."
        )

    _drive(run, english_everywhere)
    assert run.statuses()["css"] == {"en": "ok", "ko": "fallback"}
    korean = {d.language: d for d in run.results()}[KO].markdown
    assert korean.startswith("> **번역되지 않음(Untranslated)**")
    retried = [o for o in run.outcomes if o.language == "ko" and o.outcome == "retried"]
    assert "does not read as Korean" in retried[0].reason or "Korean text" in retried[0].reason


def test_parallel_mode_asks_every_language_at_once_and_checks_against_the_final_english() -> None:
    """Translations are issued beside English; a reply that comes first waits for it."""
    subjects = (subject("css", ["Caret shapes"]),)
    run = DigestRun(replace(plan(subjects, languages=(Language.EN, JA)), parallel=True))
    batch = run.ready_requests(4)
    assert [p.request_id for p in batch] == ["css.en.1", "css.ja.1"]
    assert "<<<RELEASE NOTES" in batch[1].request.messages[0].text
    answer = good_answer(subjects)
    run.feed("css.ja.1", answer(batch[1].request))
    assert not run.area_finished("css")  # held: the English is not final yet
    run.feed("css.en.1", answer(batch[0].request))
    assert run.done
    assert run.statuses()["css"] == {"en": "ok", "ja": "ok"}
    assert [o.stage for o in run.outcomes].count("area_total") == 1


def test_a_parallel_plan_survives_its_snapshot_and_an_ordinary_plan_keeps_its_shape() -> None:
    """The parallel flag is saved only when set."""
    subjects = (subject("css", ["Caret shapes"]),)
    ordinary = run_snapshot(DigestRun(plan(subjects)))
    assert "parallel" not in json.dumps(ordinary)
    parallel = DigestRun(replace(plan(subjects, languages=(Language.EN, JA)), parallel=True))
    parallel.ready_requests(4)
    restored = restore_run(json.loads(json.dumps(run_snapshot(parallel))))
    assert restored.plan.parallel


def test_a_cached_parallel_reply_that_waited_for_its_english_stays_cached() -> None:
    """An unchanged parallel re-run answered from the cache asks nothing and says cached."""
    subjects = (subject("css", ["Caret shapes"]),)
    run = DigestRun(replace(plan(subjects, languages=(Language.EN, JA)), parallel=True))
    answer = good_answer(subjects)
    english, japanese = run.ready_requests(4)
    run.feed(japanese.request_id, replace(answer(japanese.request), cached=True))
    run.feed(english.request_id, replace(answer(english.request), cached=True))
    assert run.statuses()["css"] == {"en": "cached", "ja": "cached"}
    assert (run.llm_calls, run.cache_hits) == (0, 2)
