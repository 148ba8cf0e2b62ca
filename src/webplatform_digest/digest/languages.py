"""The languages a run or a site is written in, as users name them (pure)."""

from collections.abc import Iterable

from webplatform_digest.digest.profiles import language_codes, profile
from webplatform_digest.errors import InputError
from webplatform_digest.models import Language

#: names that stand for several languages
LANGUAGE_ALIASES: dict[str, tuple[Language, ...]] = {
    "bilingual": (Language.EN, Language.ZH),
}
#: most languages one run or site may name
MAX_LANGUAGES = 16


def parse_languages(choice: object) -> tuple[Language, ...]:
    """``en`` → (en,), ``bilingual`` → (en, zh), ``en,zh,ja`` or ``["en", "ja"]`` → those.

    English comes first, the others keep their order; repeats are dropped. Every code must have
    a data file (``data/languages/<code>.yaml``).

    Raises:
        InputError: an unknown code, an empty list, or a value that is not text or a list.
    """
    names = _names(choice)
    if not names or len(names) > MAX_LANGUAGES:
        raise InputError(f"language must name 1 to {MAX_LANGUAGES} languages; got {choice!r:.60}")
    found: list[Language] = []
    for name in names:
        found.extend(LANGUAGE_ALIASES.get(name) or (_known(name),))
    unique = tuple(dict.fromkeys(found))
    return tuple(sorted(unique, key=lambda lang: lang is not Language.EN))


def language_names() -> str:
    """The accepted names, for help texts and error messages."""
    return ", ".join([*language_codes(), *LANGUAGE_ALIASES])


def _names(choice: object) -> list[str]:
    if isinstance(choice, str):
        return [part.strip() for part in choice.split(",") if part.strip()]
    if isinstance(choice, Iterable) and not isinstance(choice, bytes | dict):
        return [str(part).strip() for part in choice if str(part).strip()]  # type: ignore[union-attr]
    raise InputError(f"language must be text or a list of language codes; got {choice!r:.60}")


def _known(name: str) -> Language:
    try:
        return profile(name).code
    except InputError:
        raise InputError(
            f"language must be one of {language_names()} (or a comma-separated list); "
            f"got {name[:40]!r}"
        ) from None
