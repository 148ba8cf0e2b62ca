"""Frozen value types shared by every stage, and the validators that build them from input."""

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from webplatform_digest.errors import InputError, InvalidVersionError

MIN_VERSION = 1
MAX_VERSION = 999
AREA_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


class Product(StrEnum):
    """Which publication a release note comes from."""

    CHROME = "chrome"
    WEBGPU = "webgpu"


class Channel(StrEnum):
    """Chrome release channel of a release note."""

    STABLE = "stable"
    BETA = "beta"


#: a language code as paths and front matter spell it (``en``, ``zh``, ``zh-TW``, ``pt-BR``)
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(?:-(?:[A-Z]{2}|[A-Z][a-z]{3}))?$")


class _LanguageType(type):
    def __iter__(cls) -> "Iterator[Language]":
        # iterating the type gives the two languages of the former enum (callers that meant
        # "every language" ask ``digest.profiles.language_codes`` instead)
        return iter((Language.EN, Language.ZH))


class Language(str, metaclass=_LanguageType):
    """A digest language: a validated language code (open: any language with a data file).

    Values are interned, so ``language is Language.ZH`` keeps working as it did for the enum.
    """

    __slots__ = ()
    _known: ClassVar[dict[str, "Language"]] = {}
    EN: ClassVar["Language"]
    ZH: ClassVar["Language"]

    def __new__(cls, code: object) -> "Language":
        text = str(code)
        found = cls._known.get(text)
        if found is not None:
            return found
        if not LANGUAGE_CODE.match(text):
            raise ValueError(f"{text[:40]!r} is not a language code such as en, zh-TW or pt-BR")
        made = cls._known[text] = super().__new__(cls, text)
        return made

    @property
    def value(self) -> str:
        """The code as a plain string (the enum's ``.value``, kept for its callers)."""
        return str.__str__(self)

    def __repr__(self) -> str:
        return f"Language({self.value!r})"


Language.EN = Language("en")
Language.ZH = Language("zh")


class LinkType(StrEnum):
    """What a link in a release note points at."""

    TRACKING_BUG = "tracking_bug"
    CHROMESTATUS = "chromestatus"
    SPEC = "spec"
    MDN = "mdn"
    GITHUB = "github"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Link:
    """A typed link extracted from a feature body."""

    url: str
    type: LinkType
    title: str


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature of a release note: an H3 under an H2 section (or an H2 in WebGPU notes)."""

    title: str
    section: str
    body: str
    links: tuple[Link, ...] = ()
    product: Product = Product.CHROME
    line: int = 0


@dataclass(frozen=True, slots=True)
class Release:
    """A parsed release note."""

    product: Product
    version: int
    channel: Channel
    title: str
    release_date: str | None
    source_url: str | None
    features: tuple[Feature, ...]
    sections: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, order=True)
class ReleaseKey:
    """Identifies one Chrome release: version and channel."""

    version: int
    channel: Channel = Channel.STABLE

    @property
    def slug(self) -> str:
        """File-name stem: ``chrome-144`` or ``chrome-144-beta``."""
        suffix = "" if self.channel is Channel.STABLE else f"-{self.channel.value}"
        return f"chrome-{self.version}{suffix}"


@dataclass(frozen=True, slots=True)
class FocusArea:
    """One entry of the focus-area catalogue."""

    id: str
    name: str
    name_zh: str
    description: str
    heading_patterns: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    priority: int = 50
    #: keywords also tag features of sections that belong to other areas
    multi_tag: bool = True


@dataclass(frozen=True, slots=True)
class AreaStatistics:
    """Counts stored with each per-area document."""

    feature_count: int
    link_count: int
    links_by_type: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class AreaData:
    """The features of one release that belong to one focus area."""

    version: int
    channel: Channel
    area: str
    features: tuple[Feature, ...]
    statistics: AreaStatistics
    source_hash: str = ""


class DigestStatus(StrEnum):
    """How an area digest in one language was obtained."""

    OK = "ok"
    RETRIED = "retried"
    #: the reply was accepted after deterministic repairs of its format
    REPAIRED = "repaired"
    #: some features were written by the model, the rest filled from the release notes
    PARTIAL = "partial"
    FALLBACK = "fallback"
    ERROR = "error"
    CACHED = "cached"
    EMPTY = "empty"
    #: no model reply this run; the model digest written earlier was kept (run results only)
    KEPT = "kept"


@dataclass(frozen=True, slots=True)
class AreaDigest:
    """A finished digest of one area in one language."""

    area: str
    version: int
    channel: Channel
    language: Language
    markdown: str
    status: DigestStatus
    backend: str
    reason: str = ""
    title: str = ""
    generated_at: str = ""
    links: tuple[str, ...] = field(default=())
    #: repairs applied to the model's reply (``digest.repair.REPAIR_KINDS``)
    repairs: tuple[str, ...] = ()
    #: hash of the area data the digest was written from (``digest.keep.area_input_hash``)
    input_hash: str = ""
    #: kept from an earlier run although the area data has changed since
    stale: bool = False


def parse_version(value: object) -> int:
    """Validate a Chrome milestone given as int or decimal string (``144``).

    Raises:
        InvalidVersionError: not an integer milestone in 1..999.
    """
    if isinstance(value, bool):
        raise InvalidVersionError(f"version must be a Chrome milestone number, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]{1,3}", value.strip()):
        number = int(value.strip())
    else:
        shown = repr(value)[:40]
        raise InvalidVersionError(
            f"version must be a Chrome milestone number such as 144, got {shown}"
        )
    if not MIN_VERSION <= number <= MAX_VERSION:
        raise InvalidVersionError(
            f"version {number} is out of range ({MIN_VERSION}..{MAX_VERSION})"
        )
    return number


def parse_channel(value: object) -> Channel:
    """Validate a channel name (``stable`` or ``beta``)."""
    if isinstance(value, Channel):
        return value
    if isinstance(value, str):
        try:
            return Channel(value.strip().lower())
        except ValueError:
            pass
    valid = ", ".join(c.value for c in Channel)
    raise InvalidVersionError(f"channel must be one of {valid}, got {str(value)[:40]!r}")


def normalise_area_id(value: str) -> str:
    """NFC-normalise and lower-case an area id, then check its slug shape.

    Raises:
        InputError: not a slug of at most 64 characters.
    """
    text = unicodedata.normalize("NFC", value).strip().lower()
    if not AREA_ID_PATTERN.fullmatch(text):
        shown = text if len(text) <= 64 else text[:61] + "..."
        raise InputError(
            f"area id {shown!r} is not valid: use lower-case letters, digits and '-' (max 64)"
        )
    return text
