"""Each target language accepts a real sentence in that language and refuses English."""

import pytest

from webplatform_digest.digest.checks import check_translation
from webplatform_digest.digest.profiles import profile
from webplatform_digest.digest.scripts import script_problems

ENGLISH_SOURCE = (
    "## Caret shapes\n\n"
    "The `caret-shape` property lets you choose the shape of the text caret in editable "
    "elements, and it is now available in Chrome for every developer who needs it.\n\n"
    "- [Tracking bug](https://issues.chromium.org/issues/1)\n"
)
#: a real sentence per language, with the same heading and URL as the English source
SAMPLES = {
    "zh": "`caret-shape` 属性可以让你在可编辑元素中选择文本光标的形状，现在所有开发者都可以在 "
    "Chrome 中使用这一功能。",
    "zh-TW": "`caret-shape` 屬性可讓你在可編輯的元素中選擇文字游標的形狀，現在每位開發人員都能在 "
    "Chrome 中使用這項功能。",
    "ja": "`caret-shape` プロパティを使うと、編集可能な要素でテキスト カーソルの形を選べます。"
    "この機能は現在、Chrome で誰でも利用できます。",
    "ko": "`caret-shape` 속성을 사용하면 편집 가능한 요소에서 텍스트 캐럿의 모양을 선택할 수 "
    "있으며, 이제 Chrome에서 모든 개발자가 이 기능을 사용할 수 있습니다.",
    "es": "La propiedad `caret-shape` te permite elegir la forma del cursor de texto en los "
    "elementos editables, y ahora está disponible en Chrome para todos los desarrolladores.",
    "pt-BR": "A propriedade `caret-shape` permite escolher o formato do cursor de texto nos "
    "elementos editáveis, e agora está disponível no Chrome para todos os desenvolvedores.",
}


def _digest(sentence: str) -> str:
    return (
        f"## Caret shapes\n\n{sentence}\n\n- [Tracking bug](https://issues.chromium.org/issues/1)\n"
    )


def _problems(code: str, reply: str) -> tuple[str, ...]:
    return check_translation(reply, ENGLISH_SOURCE, profile(code), max_chars=10_000).problems


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_a_real_sentence_in_the_language_passes_its_checks(code: str) -> None:
    """The translated sample has no problems in its own language."""
    assert _problems(code, _digest(SAMPLES[code])) == ()


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_an_untranslated_english_reply_is_refused(code: str) -> None:
    """Echoing the English source back is not a translation in any language."""
    problems = _problems(code, ENGLISH_SOURCE)
    assert problems
    assert any("translate the prose" in p for p in problems)


def test_traditional_chinese_refuses_a_simplified_reply() -> None:
    """zh-TW names Simplified characters as the problem."""
    problems = _problems("zh-TW", _digest(SAMPLES["zh"]))
    assert len(problems) == 1
    assert "Simplified characters" in problems[0]


def test_japanese_refuses_a_chinese_reply_without_kana() -> None:
    """Han characters alone are Chinese, not Japanese."""
    problems = _problems("ja", _digest(SAMPLES["zh"]))
    assert any("kana" in p for p in problems)


def test_spanish_refuses_portuguese_as_readily_as_it_accepts_spanish() -> None:
    """The stop-word share tells two close languages apart on a real sentence."""
    assert script_problems(_digest(SAMPLES["es"]), profile("es")) == []
    assert script_problems(_digest(SAMPLES["pt-BR"]), profile("pt-BR")) == []
    english = script_problems(ENGLISH_SOURCE, profile("pt-BR"))
    assert "does not read as Brazilian Portuguese" in english[0]


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_a_translation_keeps_the_structure_and_urls_checks(code: str) -> None:
    """A translated reply that drops the link is refused whatever its language."""
    reply = _digest(SAMPLES[code]).replace("https://issues.chromium.org/issues/1", "https://x.test")
    problems = _problems(code, reply)
    assert any("URLs differ" in p for p in problems)
