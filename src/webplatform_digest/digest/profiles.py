"""Target languages as data: one ``data/languages/<code>.yaml`` file per language (pure).

A profile holds what the pipeline needs to write, check and publish one language: its names and
``hreflang``, the translation prompt (named prompt files or the generic template with a style
note), the glossary (terms kept in English, terms translated and how), the script check, the
offline fallback's sentences and the site's strings. Adding a language is adding a file.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import cast

import yaml

from webplatform_digest.errors import InputError
from webplatform_digest.models import Language

#: the script-check kinds a profile may name
SCRIPT_KINDS = frozenset({"han", "han-traditional", "kana", "hangul", "latin"})


@dataclass(frozen=True, slots=True)
class ScriptCheck:
    """How a reply is recognised as written in the language (see ``digest.scripts``)."""

    kind: str
    #: least share of the language's script (or stop words, for Latin) among the prose's letters
    min_share: float = 0.3
    #: least number of the script's characters in a translation
    min_chars: int = 8
    #: ``kana``: least share of kana among the letters (refuses a Chinese reply)
    min_kana_share: float = 0.0
    #: ``latin``: the language's own frequent words
    stop_words: frozenset[str] = frozenset()
    #: ``han-traditional``: Simplified-only characters and their Traditional forms, aligned
    simplified: str = ""
    traditional: str = ""


@dataclass(frozen=True, slots=True)
class PromptFiles:
    """Named prompt files (``data/prompts``) a language uses instead of the generic template."""

    system: str
    user: str
    retry: str
    glossary: str


@dataclass(frozen=True, slots=True)
class LanguageProfile:
    """Everything one target language needs, read from its data file."""

    code: Language
    name: str
    native_name: str
    hreflang: str
    script: ScriptCheck
    style: str = ""
    prompts: PromptFiles | None = None
    keep: tuple[str, ...] = ()
    terms: tuple[tuple[str, str], ...] = ()
    fallback: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    site: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def glossary(self) -> str:
        """The glossary as prompt text: the terms kept in English, then the translated ones."""
        kept = ", ".join(self.keep)
        pairs = "\n".join(f"- {english} → {native}" for english, native in self.terms)
        return (
            f"Glossary (terms that stay in English, and preferred {self.name} renderings):\n\n"
            "Keep in English, unchanged: code, API and interface names, CSS properties and "
            "values, HTML elements and attributes, HTTP headers, flags, file names, and these "
            f"names: {kept}.\n\nPreferred {self.name} terms:\n{pairs}"
        )


@cache
def language_codes() -> tuple[Language, ...]:
    """Every language with a data file: English first, then by code."""
    folder = resources.files("webplatform_digest").joinpath("data", "languages")
    codes = sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )
    return (Language.EN, *(Language(c) for c in codes if c != Language.EN.value))


@cache
def profile(language: Language | str) -> LanguageProfile:
    """The profile of a language code.

    Raises:
        InputError: no data file for that code (or the code is malformed).
    """
    try:
        code = Language(language)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    if code not in language_codes():
        known = ", ".join(language_codes())
        raise InputError(f"no data for language {code.value!r}; known: {known}")
    path = resources.files("webplatform_digest").joinpath("data", "languages", f"{code}.yaml")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return parse_profile(cast(dict[str, object], raw))


def parse_profile(raw: Mapping[str, object]) -> LanguageProfile:
    """A profile from the mapping of one data file.

    Raises:
        ValueError: a required field is missing or malformed.
    """
    script = _mapping(raw.get("script"))
    kind = str(script.get("kind", ""))
    if kind not in SCRIPT_KINDS:
        raise ValueError(f"script.kind must be one of {sorted(SCRIPT_KINDS)}; got {kind!r}")
    simplified, traditional = str(script.get("simplified", "")), str(script.get("traditional", ""))
    if len(simplified) != len(traditional):
        raise ValueError("script.simplified and script.traditional must be aligned")
    prompts = _mapping(raw.get("prompts"))
    glossary = _mapping(raw.get("glossary"))
    return LanguageProfile(
        code=Language(str(raw["code"])),
        name=str(raw["name"]),
        native_name=str(raw["native_name"]),
        hreflang=str(raw["hreflang"]),
        style=str(raw.get("style", "")).strip(),
        script=ScriptCheck(
            kind=kind,
            min_share=float(cast(float, script.get("min_share", 0.3))),
            min_chars=int(cast(int, script.get("min_chars", 8))),
            min_kana_share=float(cast(float, script.get("min_kana_share", 0.0))),
            stop_words=frozenset(str(w).lower() for w in _list(script.get("stop_words"))),
            simplified=simplified,
            traditional=traditional,
        ),
        prompts=PromptFiles(**{k: str(v) for k, v in prompts.items()}) if prompts else None,
        keep=tuple(str(term) for term in _list(glossary.get("keep"))),
        terms=tuple((str(k), str(v)) for k, v in _mapping(glossary.get("translate")).items()),
        fallback=MappingProxyType({k: str(v) for k, v in _mapping(raw.get("fallback")).items()}),
        site=MappingProxyType({k: str(v) for k, v in _mapping(raw.get("site")).items()}),
    )


def _mapping(value: object) -> dict[str, object]:
    return {str(k): v for k, v in cast(dict[object, object], value).items()} if value else {}


def _list(value: object) -> list[object]:
    return list(cast(list[object], value)) if value else []
