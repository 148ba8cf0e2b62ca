"""Language data files: every shipped language loads, with a real glossary and its strings."""

import re

import pytest

from webplatform_digest.digest.profiles import language_codes, parse_profile, profile
from webplatform_digest.errors import InputError
from webplatform_digest.models import Language
from webplatform_digest.site.strings import LABELS

TARGETS = ("zh", "zh-TW", "ja", "ko", "es", "pt-BR")


def test_the_six_targets_beyond_english_ship() -> None:
    """English first, then every shipped data file."""
    codes = language_codes()
    assert codes[0] is Language.EN
    assert set(TARGETS) <= set(codes)


@pytest.mark.parametrize("code", TARGETS)
def test_each_target_has_a_glossary_of_at_least_25_terms(code: str) -> None:
    """Terms kept in English and translated terms are both given."""
    loaded = profile(code)
    assert len(loaded.terms) >= 25
    assert {"API", "CSS", "HTML"} <= set(loaded.keep)
    assert dict(loaded.terms)["origin trial"]
    assert loaded.hreflang.lower().startswith(code.split("-")[0])


@pytest.mark.parametrize("code", [c for c in TARGETS if c != "zh"])
def test_each_new_target_has_its_fallback_sentences_and_site_strings(code: str) -> None:
    """The offline fallback and the site speak the language without asking the code."""
    loaded = profile(code)
    for key in ("banner", "section", "offline_note", "intro", "empty", "spec"):
        assert loaded.fallback[key]
    for key in ("site", "home", "status_untranslated", "badge_untranslated", "other_language"):
        assert loaded.site[key]
    assert "{release}" in loaded.fallback["intro"]
    assert "{count}" in loaded.fallback["intro"]


def test_a_language_without_a_data_file_is_an_input_error() -> None:
    """fr has no data file; a malformed code is refused before any lookup."""
    with pytest.raises(InputError, match="no data for language 'fr'"):
        profile("fr")
    with pytest.raises(InputError, match="not a language code"):
        profile("../etc")


def test_a_misaligned_traditional_table_is_refused() -> None:
    """The Simplified and Traditional columns must pair up character by character."""
    raw: dict[str, object] = {
        "code": "zh-HK",
        "name": "x",
        "native_name": "x",
        "hreflang": "zh-HK",
        "script": {"kind": "han-traditional", "simplified": "这个", "traditional": "這"},
    }
    with pytest.raises(ValueError, match="aligned"):
        parse_profile(raw)


def test_language_values_are_interned_and_validated() -> None:
    """The open type keeps identity comparisons and refuses paths."""
    assert Language("zh") is Language.ZH
    assert Language("pt-BR").value == "pt-BR"
    with pytest.raises(ValueError, match="not a language code"):
        Language("zh/../x")


@pytest.mark.parametrize("code", [c for c in TARGETS if c != "zh"])
def test_every_site_string_of_a_data_file_is_a_known_key_with_the_same_placeholders(
    code: str,
) -> None:
    """A typo in a key or a lost ``{n}`` would silently show English or break formatting."""
    english = LABELS[Language.EN]
    for key, text in profile(code).site.items():
        assert key in english, key
        assert set(re.findall(r"{\w+}", text)) == set(re.findall(r"{\w+}", english[key])), key
