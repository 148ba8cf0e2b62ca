"""Is a translation written in its language? Script shares and stop-word identification (pure).

Han for Chinese, Traditional against Simplified characters for zh-TW, kana for Japanese, Hangul
for Korean; Latin-script languages by the share of their own frequent words against English
ones, so an untranslated English reply is refused. Only prose counts: code, inline code and
URLs are left out.
"""

import re

from webplatform_digest.digest.markdown import BARE_URL, CJK, LINK_TARGET, prose
from webplatform_digest.digest.profiles import LanguageProfile

_KANA = re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")
_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
#: frequent English words; a Latin-script translation must use fewer of them than of its own
ENGLISH_STOP_WORDS = frozenset(
    ("the", "and", "of", "to", "is", "in", "that", "for", "with", "this", "are", "it", "be",
     "on", "as", "by", "from", "can", "or", "an", "you", "your", "which", "when", "new", "now",
     "its", "has", "have", "will", "not", "was", "were", "these", "into", "than", "also", "more",
     "use", "uses", "used")
)  # fmt: skip
#: fewest words before a Latin-script reply is judged at all (a title alone says too little)
MIN_WORDS = 12


def _body(text: str) -> str:
    return LINK_TARGET.sub("]", BARE_URL.sub(" ", prose(text)))


def script_problems(text: str, language: LanguageProfile) -> list[str]:
    """What says ``text`` is not written in ``language`` (empty when it is)."""
    check, body = language.script, _body(text)
    if check.kind == "latin":
        return _latin_problems(body, language)
    han, latin = len(CJK.findall(body)), len(_LATIN.findall(body))
    kana, hangul = len(_KANA.findall(body)), len(_HANGUL.findall(body))
    own = {"kana": han + kana, "hangul": hangul}.get(check.kind, han)
    letters = own + latin + (0 if check.kind in ("kana", "hangul") else kana + hangul)
    share = own / letters if letters else 0.0
    if own < check.min_chars or share < check.min_share:
        return [
            f"too little {language.name} text ({own} characters of its script, {share:.0%} of "
            f"the letters; need at least {check.min_share:.0%}); translate the prose into "
            f"{language.name}"
        ]
    if check.kind == "kana" and kana < check.min_kana_share * letters:
        return [f"the reply has almost no kana ({kana} characters); write Japanese, not Chinese"]
    if check.kind == "han-traditional":
        return _traditional_problems(body, language)
    return []


def _traditional_problems(body: str, language: LanguageProfile) -> list[str]:
    check = language.script
    simplified = sum(body.count(c) for c in check.simplified)
    traditional = sum(body.count(c) for c in check.traditional)
    if simplified > traditional:
        return [
            f"the reply is written in Simplified characters ({simplified} Simplified-only, "
            f"{traditional} Traditional-only); write {language.name} ({language.native_name})"
        ]
    return []


def _latin_problems(body: str, language: LanguageProfile) -> list[str]:
    words = [w.lower() for w in _WORD.findall(body)]
    if len(words) < MIN_WORDS or not language.script.stop_words:
        return []
    own = sum(1 for w in words if w in language.script.stop_words)
    english_only = ENGLISH_STOP_WORDS - language.script.stop_words
    english = sum(1 for w in words if w in english_only)
    share = own / len(words)
    if english >= own or share < language.script.min_share:
        return [
            f"the reply does not read as {language.name} ({share:.0%} of its words are common "
            f"{language.name} words, {english} common English words); translate the prose "
            f"into {language.name}"
        ]
    return []
