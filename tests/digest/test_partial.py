"""Partial acceptance: keep the sections a reply got right, ask again only for the rest."""

import orjson

from tests.digest_samples import fake_translation, plan, sample_subjects, valid_english
from webplatform_digest.digest.codec import restore_run, run_snapshot
from webplatform_digest.digest.machine import DigestRun, Failure
from webplatform_digest.digest.partial import SECTION_FALLBACK_NOTE, SECTION_UNTRANSLATED_NOTE
from webplatform_digest.digest.state import ItemState, Phase
from webplatform_digest.llm.port import LLMReply
from webplatform_digest.models import DigestStatus, Language

CSS = sample_subjects()[0]
FULL = valid_english(CSS)
WITHOUT_SNAP = FULL.replace(FULL[FULL.index("## Scroll") : FULL.index("## Highlight")], "")


def _english_run() -> DigestRun:
    return DigestRun(plan((CSS,), languages=(Language.EN,)))


def _reply(text: str) -> LLMReply:
    return LLMReply(text=text, model="m")


def _first_reply_misses_one_feature(run: DigestRun) -> str:
    (first,) = run.ready_requests(4)
    outcomes = run.feed(first.request_id, _reply(WITHOUT_SNAP))
    assert outcomes[0].outcome == "retried"
    assert outcomes[0].reason.startswith("partial: 1 of 3 features missing")
    (retry,) = run.ready_requests(4)
    return retry.request_id


def test_the_retry_asks_only_for_the_features_the_reply_missed() -> None:
    """The focused request lists one feature and requires one heading."""
    run = _english_run()
    _first_reply_misses_one_feature(run)
    (retry,) = run.in_flight_requests()
    prompt = retry.request.messages[-1].text
    assert retry.request.meta.stage == "english_retry"
    assert "--- Feature 1 of 1 ---" in prompt
    assert "Title: Scroll `snap-type` tweaks" in prompt
    assert "Title: Caret shapes" not in prompt


def test_a_focused_retry_that_answers_completes_the_digest_in_title_order() -> None:
    """Kept sections and the retried one are joined in input order: status retried."""
    run = _english_run()
    request_id = _first_reply_misses_one_feature(run)
    (retry,) = run.in_flight_requests()
    focused = valid_english(CSS).split("## Scroll")[1].split("## Highlight")[0]
    run.feed(request_id, _reply("Overview.\n\n## Scroll" + focused))
    (digest,) = run.results()
    assert digest.status is DigestStatus.RETRIED
    assert [line for line in digest.markdown.split("\n") if line.startswith("## ")] == [
        f"## {t}" for t in CSS.titles
    ]
    assert SECTION_FALLBACK_NOTE not in digest.markdown
    assert retry.request.meta.fallback.startswith("_Generated without an LLM")


def test_what_the_focused_retry_still_misses_is_filled_and_marked() -> None:
    """Status partial; only the missing section is deterministic, and it says so."""
    run = _english_run()
    request_id = _first_reply_misses_one_feature(run)
    outcomes = run.feed(request_id, _reply("Nothing useful here."))
    (digest,) = run.results()
    assert digest.status is DigestStatus.PARTIAL
    assert digest.markdown.count(SECTION_FALLBACK_NOTE) == 1
    snap = digest.markdown.split("## Scroll `snap-type` tweaks")[1]
    assert snap.lstrip().startswith(SECTION_FALLBACK_NOTE)
    assert "This change helps developers build widgets." in digest.markdown.split("## Scroll")[0]
    assert digest.reason == "1 of 3 sections written without an LLM: Scroll `snap-type` tweaks"
    assert [o.outcome for o in outcomes] == ["partial", "partial"]  # stage, then area total


def test_a_failed_focused_retry_still_keeps_the_good_sections() -> None:
    """An LLM failure after a partly good reply gives partial, not fallback."""
    run = _english_run()
    request_id = _first_reply_misses_one_feature(run)
    run.feed(request_id, Failure("LLMTimeoutError", "slow"))
    assert run.statuses() == {"css": {"en": "partial"}}
    assert run.fallbacks == 0


def test_a_run_stopped_during_the_focused_retry_keeps_the_good_sections() -> None:
    """The deadline fallback of an item with kept sections is partial."""
    run = _english_run()
    _first_reply_misses_one_feature(run)
    run.fail_remaining("run deadline passed")
    assert run.statuses() == {"css": {"en": "partial"}}


def test_kept_sections_survive_a_snapshot() -> None:
    """The item's kept sections and wanted titles round-trip through JSON."""
    run = _english_run()
    _first_reply_misses_one_feature(run)
    restored = restore_run(orjson.loads(orjson.dumps(run_snapshot(run))))
    restored.requeue_in_flight()
    (retry,) = restored.ready_requests(4)
    restored.feed(retry.request_id, _reply("Nothing useful here."))
    assert restored.statuses() == {"css": {"en": "partial"}}
    digest = restored.results()[0].markdown
    assert "## Caret shapes\n\nThis change helps developers build widgets." in digest


def test_an_item_state_reads_snapshots_without_kept_sections() -> None:
    """Snapshots from before partial acceptance have no kept/wanted/repairs keys."""
    data = ItemState("css", Language.EN, Phase.READY, kept={"T": "## T"}, wanted=("U",)).to_json()
    assert ItemState.from_json(data).kept == {"T": "## T"}
    for key in ("kept", "wanted"):
        del data[key]
    assert not {"kept_preamble", "repairs"} & set(data)  # unset keys are not written
    restored = ItemState.from_json(data)
    assert (restored.kept, restored.wanted, restored.repairs) == ({}, (), ())


def test_a_reply_with_no_good_feature_gets_the_full_corrective_retry() -> None:
    """Nothing to keep: the usual retry quoting the reply and its problems."""
    run = _english_run()
    (first,) = run.ready_requests(4)
    run.feed(first.request_id, _reply("Just an overview, no sections."))
    (retry,) = run.ready_requests(4)
    assert len(retry.request.messages) == 3


def test_a_last_translation_attempt_keeps_its_translated_sections() -> None:
    """Untranslated sections stay in English under a marker; status partial."""
    run = DigestRun(plan((CSS,)))
    (first,) = run.ready_requests(4)
    run.feed(first.request_id, _reply(FULL))
    english = run.results()[0].markdown
    half = fake_translation(english)
    english_snap = english[english.index("## Scroll") : english.index("## Highlight")]
    translated_snap = half[half.index("## 功能：Scroll") : half.index("## 功能：Highlight")]
    # the untranslated section is long enough that the whole reply is rejected
    padding = "This paragraph was left in English by the translator, word for word.\n\n" * 4
    half = half.replace(translated_snap, english_snap + padding)
    for _ in range(2):
        (pending,) = run.ready_requests(4)
        run.feed(pending.request_id, _reply(half))
    zh = next(d for d in run.results() if d.language is Language.ZH)
    assert zh.status is DigestStatus.PARTIAL
    assert zh.markdown.count(SECTION_UNTRANSLATED_NOTE) == 1
    assert "## 功能：Caret shapes" in zh.markdown
    assert zh.reason == "1 of 4 sections kept in English (not translated)"


def test_repairs_of_the_kept_sections_are_recorded_on_the_finished_digest() -> None:
    """A lead-in repaired in the first reply still shows in the partial digest's repairs."""
    run = _english_run()
    (first,) = run.ready_requests(4)
    run.feed(first.request_id, _reply("Sure! Here is the digest:\n\n" + WITHOUT_SNAP))
    (retry,) = run.ready_requests(4)
    run.feed(retry.request_id, _reply("Nothing useful here."))
    (digest,) = run.results()
    assert digest.status is DigestStatus.PARTIAL
    assert digest.repairs == ("chatter",)


def test_partial_acceptance_and_repair_apply_to_every_language() -> None:
    """A Spanish reply in a code fence with one section left in English: the fence is repaired,
    the Spanish sections are kept and the English one is marked in Spanish."""
    spanish = Language("es")
    run = DigestRun(plan((CSS,), languages=(Language.EN, spanish)))
    (first,) = run.ready_requests(4)
    run.feed(first.request_id, _reply(FULL))
    english = run.results()[0].markdown
    half = fake_translation(english, "es")
    english_snap = english[english.index("## Scroll") : english.index("## Highlight")]
    translated_snap = half[half.index("## Función: Scroll") : half.index("## Función: Highlight")]
    padding = "This paragraph was left in English by the translator, word for word.\n\n" * 6
    half = "```markdown\n" + half.replace(translated_snap, english_snap + padding) + "\n```"
    for _ in range(2):
        (pending,) = run.ready_requests(4)
        run.feed(pending.request_id, _reply(half))
    es = next(d for d in run.results() if d.language is spanish)
    assert es.status is DigestStatus.PARTIAL
    assert es.markdown.count("> **Sin traducir (Untranslated)**") == 1
    assert SECTION_UNTRANSLATED_NOTE not in es.markdown
    assert "## Función: Caret shapes" in es.markdown
    assert "code_fence" in es.repairs
