"""The languages a run or a site is written in, as users name them (pure)."""

from webplatform_digest.errors import InputError
from webplatform_digest.models import Language

#: user-facing language choices and the languages each one means
LANGUAGE_CHOICES: dict[str, tuple[Language, ...]] = {
    "en": (Language.EN,),
    "zh": (Language.ZH,),
    "bilingual": (Language.EN, Language.ZH),
}


def parse_languages(choice: object) -> tuple[Language, ...]:
    """``en`` → (en,), ``zh`` → (zh,), ``bilingual`` → (en, zh).

    Raises:
        InputError: any other value.
    """
    if not isinstance(choice, str) or choice not in LANGUAGE_CHOICES:
        shown = str(choice)[:40]
        raise InputError(f"language must be one of {', '.join(LANGUAGE_CHOICES)}; got {shown!r}")
    return LANGUAGE_CHOICES[choice]
