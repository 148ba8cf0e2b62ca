"""Label policy: fixed value sets, everything else is ``other``."""

from webplatform_digest.events import STAGES
from webplatform_digest.telemetry.labels import (
    STAGE_LANGUAGES,
    bounded,
    language_label,
    retry_reason,
)


def test_values_outside_the_allowed_set_become_other() -> None:
    """Allowed values pass through; anything else, including path-like text, is ``other``."""
    assert bounded("css", {"css"}) == "css"
    assert bounded("../etc", {"css"}) == "other"
    assert bounded("", ("css",)) == "other"


def test_languages_are_en_zh_or_all_for_totals() -> None:
    """An empty language (area and run totals) is ``all``; unknown languages are ``other``."""
    assert [language_label(x) for x in ("en", "zh", "", "fr")] == ["en", "zh", "all", "other"]


def test_every_stage_has_its_language() -> None:
    """English stages are ``en``, translation stages ``zh``, totals ``all``."""
    pairs = dict(STAGE_LANGUAGES)
    assert set(pairs) == set(STAGES)
    assert pairs["english_retry"] == "en"
    assert pairs["translation_fallback"] == "zh"
    assert pairs["run_total"] == "all"


def test_retry_reasons_accept_the_governors_error_class_names() -> None:
    """The governor reports an error class; it maps onto the fixed reason set."""
    assert retry_reason("LLMTimeoutError") == "timeout"
    assert retry_reason("BackendError") == "backend_error"
    assert retry_reason("rate_limited") == "rate_limited"
    assert retry_reason("RateLimitedError") == "rate_limited"
    assert retry_reason("KeyError") == "other"
