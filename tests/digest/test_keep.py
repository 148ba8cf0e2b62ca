"""Keep-vs-fallback rules: a model digest on disk is never replaced by no model's work."""

from dataclasses import replace

import pytest

from tests.digest_samples import sample_subjects
from webplatform_digest.digest.keep import area_input_hash, keep_decision, model_written
from webplatform_digest.models import AreaDigest, Channel, DigestStatus, Language

OLD_HASH, NEW_HASH = "sha256:aaaaaaaaaaaaaaaa", "sha256:bbbbbbbbbbbbbbbb"
MODEL = AreaDigest(
    area="css",
    version=144,
    channel=Channel.STABLE,
    language=Language.EN,
    markdown="## Caret shapes\n\nThe model's text.\n",
    status=DigestStatus.OK,
    backend="openai",
    generated_at="2026-01-13T10:00:00Z",
    input_hash=OLD_HASH,
)
FALLBACK = replace(
    MODEL,
    markdown="## Caret shapes\n\nFrom the release notes.\n",
    status=DigestStatus.FALLBACK,
    backend="deterministic",
    reason="LLM call failed: backend_error: HTTP 503",
    generated_at="",
)


def test_a_fallback_never_replaces_a_model_digest_of_the_same_input() -> None:
    decision = keep_decision(FALLBACK, MODEL)
    assert decision.kept
    assert decision.digest == MODEL
    assert "kept the model digest of 2026-01-13" in decision.kept_reason
    assert "HTTP 503" in decision.kept_reason


def test_a_kept_digest_whose_area_data_changed_is_marked_stale() -> None:
    decision = keep_decision(replace(FALLBACK, input_hash=NEW_HASH), MODEL)
    assert decision.kept
    assert decision.digest.stale
    assert decision.digest.markdown == MODEL.markdown
    assert "marked stale" in decision.kept_reason


def test_a_stale_mark_goes_once_the_area_data_is_back_to_what_the_model_saw() -> None:
    decision = keep_decision(replace(FALLBACK, input_hash=OLD_HASH), replace(MODEL, stale=True))
    assert decision.kept
    assert not decision.digest.stale


def test_a_model_digest_without_an_input_hash_is_kept_and_not_called_stale() -> None:
    """Files written before hashes were recorded cannot be compared: kept as they are."""
    decision = keep_decision(replace(FALLBACK, input_hash=NEW_HASH), replace(MODEL, input_hash=""))
    assert decision.kept
    assert not decision.digest.stale


@pytest.mark.parametrize(
    "existing",
    [None, replace(MODEL, status=DigestStatus.FALLBACK), replace(MODEL, backend="offline")],
    ids=["no file", "a fallback on disk", "an offline digest on disk"],
)
def test_a_fallback_is_written_where_no_model_digest_exists(existing: AreaDigest | None) -> None:
    decision = keep_decision(FALLBACK, existing)
    assert not decision.kept
    assert decision.digest == FALLBACK


def test_overwrite_writes_the_fallback_anyway() -> None:
    decision = keep_decision(FALLBACK, MODEL, overwrite=True)
    assert not decision.kept
    assert decision.digest == FALLBACK


def test_a_new_model_digest_replaces_the_old_one() -> None:
    newer = replace(
        MODEL, markdown="## Caret shapes\n\nBetter text.\n", status=DigestStatus.RETRIED
    )
    assert keep_decision(newer, MODEL).digest == newer


def test_an_untranslated_page_never_replaces_a_model_translation() -> None:
    chinese = replace(MODEL, language=Language.ZH, markdown="## Caret shapes\n\n模型的译文。\n")
    untranslated = replace(FALLBACK, language=Language.ZH)
    assert keep_decision(untranslated, chinese).digest == chinese


def test_an_area_left_without_features_gets_its_empty_page() -> None:
    empty = replace(FALLBACK, status=DigestStatus.EMPTY, markdown="No changes.\n")
    assert keep_decision(empty, MODEL).digest == empty


def test_partly_model_written_digests_count_as_model_work() -> None:
    assert model_written(replace(MODEL, status=DigestStatus.PARTIAL))
    assert model_written(replace(MODEL, status=DigestStatus.REPAIRED))
    assert not model_written(FALLBACK)
    assert not model_written(replace(MODEL, backend="offline"))


def test_the_input_hash_follows_the_features_and_nothing_else() -> None:
    data = sample_subjects()[0].data
    same = replace(data, source_hash="other")
    fewer = replace(data, features=data.features[:1])
    assert area_input_hash(data) == area_input_hash(same)
    assert area_input_hash(data) != area_input_hash(fewer)
    assert area_input_hash(data).startswith("sha256:")
