"""The site model (pure): releases × areas × languages, the pages they make, and links between them.

Built from the digest files found under ``digest_markdown/areas/<area>/`` and the focus-area
catalogue. English pages are at the site root, Chinese ones under ``zh/``; navigation pages are
``index`` files of their folder, digest pages are files named after their area (one folder per
release keeps the number of folders, and so of directory fsyncs, small):

```
index                         zh/index
versions/index                versions/chrome-144/index       versions/chrome-144/<area>
areas/index                   areas/<area>/index              (every release of one area)
```
Links are relative, so the site works under any base URL and from ``file://``.
"""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Protocol, TypeVar, cast

from webplatform_digest.digest.files import parse_digest_file
from webplatform_digest.digest.profiles import language_codes, profile
from webplatform_digest.digest.prompts import OFFLINE_NOTE, OFFLINE_NOTE_ZH, UNTRANSLATED_BANNER
from webplatform_digest.errors import ParseError
from webplatform_digest.models import (
    AREA_ID_PATTERN,
    AreaDigest,
    Channel,
    DigestStatus,
    FocusArea,
    Language,
    ReleaseKey,
)
from webplatform_digest.site.markdown import feature_headings

#: ``chrome-144-en.md`` / ``chrome-144-beta-zh.md`` under ``digest_markdown/areas/<area>/``
DIGEST_NAME = re.compile(
    r"^chrome-(?P<version>[0-9]{1,3})(?P<beta>-beta)?"
    r"-(?P<lang>[a-z]{2,3}(?:-(?:[A-Z]{2}|[A-Z][a-z]{3}))?)\.md$"
)
#: the longest digest body the site renders (larger bodies are cut, with a note)
MAX_BODY_CHARS = 512 * 1024


class AreaCatalogue(Protocol):
    """Anything with the catalogue's ``areas`` (e.g. ``focus_areas.FocusAreaManager``)."""

    @property
    def areas(self) -> Sequence[FocusArea]:
        """The configured focus areas, in catalogue order."""
        ...


AreaNames = Mapping[str, tuple[str, str]]
T = TypeVar("T")


def area_names(catalogue: AreaNames | AreaCatalogue) -> dict[str, tuple[str, str]]:
    """``area id → (English name, Chinese name)`` from a mapping or a catalogue object."""
    if isinstance(catalogue, Mapping):
        return {str(key): (str(value[0]), str(value[1])) for key, value in catalogue.items()}
    return {area.id: (area.name, area.name_zh or area.name) for area in catalogue.areas}


@dataclass(frozen=True, slots=True)
class Area:
    """A focus area shown on the site."""

    id: str
    name: str
    name_zh: str

    def label(self, language: Language) -> str:
        """The display name in ``language``."""
        return self.name_zh if language is Language.ZH else self.name


@dataclass(frozen=True, slots=True)
class DigestEntry:
    """One digest file found on disk.

    ``status`` is the front matter's value as written (statuses the site does not know yet get
    a generic badge); ``markdown`` is the body without the notices the site shows itself (the
    untranslated banner, the offline note); ``features`` are its feature headings (level 2)."""

    key: ReleaseKey
    area: str
    language: Language
    title: str
    status: str
    backend: str
    markdown: str
    source: PurePosixPath
    features: tuple[str, ...] = ()
    untranslated: bool = False
    generated_at: str = ""
    #: a model digest kept although its area data has changed since
    stale: bool = False


#: the front matter's ``status`` line (its value checked before the strict reader sees it)
_STATUS_LINE = re.compile(rb"^status:[ \t]*(['\"]?)([A-Za-z0-9_-]{1,40})\1[ \t]*$", re.MULTILINE)
_KNOWN_STATUSES = frozenset(status.value for status in DigestStatus)
_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?Z$")


def _known_status(data: bytes) -> tuple[bytes, str | None]:
    """``data`` readable by the digest parser, and the status it names when the parser does not
    know it (a newer writer's status is shown, not a reason to drop the page)."""
    end = data.find(b"\n---\n", 3)
    found = _STATUS_LINE.search(data, 0, max(end, 0))
    if found is None or found[2].decode() in _KNOWN_STATUSES:
        return data, None
    return data[: found.start(2)] + b"ok" + data[found.end(2) :], found[2].decode()


@lru_cache(maxsize=64)
def _notices(language: Language) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(banners, offline notes) a digest in ``language`` may start with: the Chinese banner and
    the English and Chinese notes, plus its own language's. Only that language's data file is
    read: a site build in a fresh process would otherwise parse every language's YAML."""
    fallback = profile(language).fallback
    banner, note = fallback.get("banner", ""), fallback.get("offline_note", "")
    return (
        (UNTRANSLATED_BANNER, *((banner,) if banner else ())),
        (OFFLINE_NOTE, OFFLINE_NOTE_ZH, *((note,) if note else ())),
    )


def _without_notices(markdown: str, language: Language) -> tuple[str, bool]:
    """The body without a leading untranslated banner and offline note; whether it had the
    banner (the page shows one notice of its own instead)."""
    text = markdown.lstrip("\n")
    banners, notes = _notices(language)
    banner = next((b for b in banners if text.startswith(b)), "")
    untranslated = bool(banner)
    if untranslated:
        text = text[len(banner) :].lstrip("\n")
    for note in notes:
        if text.startswith(note):
            text = text[len(note) :].lstrip("\n")
    return text, untranslated


_FRONT_LINE = re.compile(r"([a-z_]{1,20}): (.*)")
#: plain YAML scalars that are not strings, or that need the full parser to read
_NOT_PLAIN = re.compile(
    r"^(?:$|[-?:,\[\]{}#&*!|>'\"%@`~ ]"
    r"|(?:null|true|false|yes|no|on|off|[-+.0-9][-+._0-9a-fA-FxXoOeE:]*)$)"
    r"|: | #|[\t\\]| $",
    re.IGNORECASE,
)
_FIELDS = frozenset(
    {"title", "version", "channel", "area", "language", "generated_at", "backend", "status"}
    | {"layout", "reason", "input_hash"}
)


def _scalar(raw: str) -> str | None:
    """A front-matter value as the YAML reader would give it, or None when only it can tell."""
    if len(raw) >= 2 and raw[0] == raw[-1] == "'":
        return raw[1:-1].replace("''", "'")
    return None if _NOT_PLAIN.search(raw) else raw


def quick_digest(data: bytes, source: str = "<digest>") -> AreaDigest | None:
    """The digest as ``parse_digest_file`` reads it, for the front matter our own writer emits
    (one ``key: scalar`` per line); None for anything else, which goes to the YAML reader.
    Reading hundreds of digests per site build, the YAML reader is most of the time."""
    text = data.decode("utf-8", errors="replace")
    end = text.find("\n---\n", 3)
    if not text.startswith("---\n") or end < 0:
        return None
    front: dict[str, str] = {}
    for line in text[4:end].split("\n"):
        found = _FRONT_LINE.fullmatch(line)
        if found and found[0] == "stale: true":
            front["stale"] = "true"
            continue
        value = _scalar(found[2]) if found and found[1] in _FIELDS else None
        if found is None or (value is None and found[1] != "version"):
            return None
        front[found[1]] = found[2] if value is None else value
    if not front.get("version", "").isdigit() or {"area", "language"} - set(front):
        return None
    try:
        return AreaDigest(
            area=front["area"],
            version=int(front["version"]),
            channel=Channel(front.get("channel", "stable")),
            language=Language(front["language"]),
            markdown=text[end + 5 :].removeprefix("\n"),
            status=DigestStatus(front.get("status", "ok")),
            backend=front.get("backend", ""),
            reason=front.get("reason", ""),
            title=front.get("title", ""),
            generated_at=front.get("generated_at", ""),
            input_hash=front.get("input_hash", ""),
            stale="stale" in front,
        )
    except ValueError:
        return parse_digest_file(data, source=source)


def entry_from_file(rel: PurePosixPath, data: bytes) -> DigestEntry:
    """Read a digest file at ``digest_markdown/areas/<area>/<name>``; its front matter must agree
    with its location.

    Raises:
        ParseError: bad name, bad front matter, or front matter that contradicts the path.
    """
    match = DIGEST_NAME.fullmatch(rel.name)
    area = rel.parent.name
    if match is None or not AREA_ID_PATTERN.fullmatch(area) or area == "index":
        raise ParseError("not a digest file name", source=str(rel))
    if match["lang"] not in language_codes():
        raise ParseError(f"no data file for language {match['lang']!r}", source=str(rel))
    readable, status = _known_status(data)
    digest = quick_digest(readable, str(rel)) or parse_digest_file(readable, source=str(rel))
    key = ReleaseKey(int(match["version"]), Channel.BETA if match["beta"] else Channel.STABLE)
    if (digest.area, digest.version, digest.channel, digest.language.value) != (
        area,
        key.version,
        key.channel,
        match["lang"],
    ):
        raise ParseError("front matter does not match the file's location", source=str(rel))
    markdown, untranslated = _without_notices(digest.markdown, digest.language)
    if len(markdown) > MAX_BODY_CHARS:
        markdown = markdown[:MAX_BODY_CHARS] + "\n\n*(digest shortened for the site)*\n"
    return DigestEntry(
        key,
        area,
        digest.language,
        digest.title,
        status or digest.status.value,
        digest.backend,
        markdown,
        rel,
        feature_headings(markdown),
        untranslated,
        digest.generated_at if _TIMESTAMP.fullmatch(digest.generated_at) else "",
        digest.stale,
    )


class PageKind(StrEnum):
    """The kinds of page the site has."""

    HOME = "home"
    VERSIONS = "versions"
    VERSION = "version"
    DIGEST = "digest"
    AREAS = "areas"
    AREA = "area"
    TIMELINE = "timeline"


@dataclass(frozen=True, slots=True)
class PageRef:
    """Identifies one page of the site in one language."""

    kind: PageKind
    language: Language
    release: ReleaseKey | None = None
    area: str | None = None
    #: the hash of the fields above, computed once: pages key every cache and memo of a build
    _hash: int = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.kind, self.language, self.release, self.area)))

    def __hash__(self) -> int:
        return self._hash

    @property
    def directory(self) -> PurePosixPath:
        """The page's folder relative to the site root (``PurePosixPath('.')`` for home)."""
        return PurePosixPath("/".join(page_parts(self)))

    def file(self, suffix: str) -> PurePosixPath:
        """The page's file relative to the site root: ``versions/chrome-144/css.md``."""
        return PurePosixPath("/".join((*page_parts(self), self.stem + suffix)))

    @property
    def stem(self) -> str:
        """The page's file name without extension: ``index``, or the area of a digest page."""
        if self.kind is PageKind.DIGEST and self.area:
            return self.area
        return "index"

    def in_language(self, language: Language) -> "PageRef":
        """The same page in another language."""
        return PageRef(self.kind, language, self.release, self.area)

    def with_release(self, release: ReleaseKey) -> "PageRef":
        """The same page of another release."""
        return PageRef(self.kind, self.language, release, self.area)


@lru_cache(maxsize=16384)
def page_parts(page: PageRef) -> tuple[str, ...]:
    """The components of a page's folder (``()`` for the English home)."""
    # every language but English has a tree named by its code (zh/, zh-TW/, ja/, …)
    base = () if page.language is Language.EN else (page.language.value,)
    release = page.release.slug if page.release else ""
    tail = {
        PageKind.HOME: (),
        PageKind.VERSIONS: ("versions",),
        PageKind.VERSION: ("versions", release),
        PageKind.DIGEST: ("versions", release),
        PageKind.AREAS: ("areas",),
        PageKind.AREA: ("areas", page.area or ""),
        PageKind.TIMELINE: ("areas", page.area or "", "timeline"),
    }[page.kind]
    return base + tail


@lru_cache(maxsize=65536)
def relative_link(source: PageRef, target: PageRef, *, index_file: str = "") -> str:
    """A relative URL from ``source`` to ``target``. Folder index pages are linked as ``../x/``
    or, with ``index_file``, ``../x/index.html`` (for ``file://``); digest pages as
    ``../x/<area>.html``."""
    here, there = page_parts(source), page_parts(target)
    common = 0
    while common < min(len(here), len(there)) and here[common] == there[common]:
        common += 1
    path = "/".join([".."] * (len(here) - common) + list(there[common:]))
    name = f"{target.stem}.html" if target.stem != "index" else index_file
    if name:
        return f"{path}/{name}" if path else name
    return f"{path}/" if path else "./"


@lru_cache(maxsize=4096)
def feed_path(language: Language, area: str | None = None) -> PurePosixPath:
    """The Atom feed of the whole site, or of one area, in ``language`` (from the site root)."""
    base = PurePosixPath() if language is Language.EN else PurePosixPath(language.value)
    return (base / "areas" / area if area else base) / "feed.xml"


def relative_file(source: PageRef, target: PurePosixPath) -> str:
    """A relative URL from ``source`` to a file given by its path from the site root."""
    return "/".join([".."] * len(page_parts(source)) + list(target.parts))


def release_label(key: ReleaseKey, language: Language) -> str:
    """``Chrome 144`` / ``Chrome 144 Beta`` (``Chrome 144 Beta 版`` in Chinese)."""
    if key.channel is Channel.STABLE:
        return f"Chrome {key.version}"
    return f"Chrome {key.version} Beta" + (" 版" if language is Language.ZH else "")


@dataclass(frozen=True, slots=True)
class SiteModel:
    """Everything the site shows, with lookups the page builders need."""

    releases: tuple[ReleaseKey, ...]
    areas: tuple[Area, ...]
    languages: tuple[Language, ...]
    digests: Mapping[tuple[ReleaseKey, str, Language], DigestEntry] = field(default_factory=dict)
    #: lookups derived from the fields above (filled once; not part of the value)
    _by_id: dict[str, Area] = field(default_factory=dict, compare=False, repr=False)
    _memo: dict[object, object] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update((area.id, area) for area in self.areas)

    def area(self, area_id: str) -> Area:
        """The area with ``area_id`` (every digest's area is in the model)."""
        return self._by_id[area_id]

    @property
    def area_ids(self) -> tuple[str, ...]:
        """The ids of the areas, in catalogue order."""
        return tuple(self._by_id)

    def memo(self, key: object, make: Callable[[], T]) -> T:
        """``make()``, computed once per model for ``key`` (pages ask the same questions)."""
        if key not in self._memo:
            self._memo[key] = make()
        return cast(T, self._memo[key])

    def digest(self, key: ReleaseKey, area: str, language: Language) -> DigestEntry | None:
        """The digest of one area of one release in one language, if present."""
        return self.digests.get((key, area, language))

    def has(self, key: ReleaseKey, area_id: str) -> bool:
        """Whether release ``key`` has a digest of ``area_id`` in any language."""
        present = self.memo(
            "present",
            lambda: frozenset((k, a) for k, a, lang in self.digests if lang in self.languages),
        )
        return (key, area_id) in present

    def areas_of(self, key: ReleaseKey) -> tuple[Area, ...]:
        """Areas with a digest (any language) in release ``key`` (every page of the release
        asks: computed once)."""
        return self.memo(
            ("areas_of", key), lambda: tuple(a for a in self.areas if self.has(key, a.id))
        )

    def releases_of(self, area_id: str) -> tuple[ReleaseKey, ...]:
        """Releases with a digest (any language) of ``area_id``, newest first (computed once)."""
        return self.memo(
            ("releases_of", area_id),
            lambda: tuple(key for key in self.releases if self.has(key, area_id)),
        )

    def neighbours(self, key: ReleaseKey) -> tuple[ReleaseKey | None, ReleaseKey | None]:
        """(the release before ``key``, the release after it) in the site's release order."""
        index = self.releases.index(key)
        older = self.releases[index + 1] if index + 1 < len(self.releases) else None
        newer = self.releases[index - 1] if index > 0 else None
        return older, newer

    def digest_page(self, key: ReleaseKey, area: str, language: Language) -> PageRef | None:
        """The page of a digest in ``language``, else in another site language, else None."""
        for candidate in (language, *[lang for lang in self.languages if lang is not language]):
            if (key, area, candidate) in self.digests:
                return PageRef(PageKind.DIGEST, candidate, key, area)
        return None

    def alternate(self, page: PageRef) -> PageRef | None:
        """The page to switch language to: the same page, or its release page as a fallback."""
        found = self.alternates(page)
        return found[0] if found else None

    def alternates(self, page: PageRef) -> tuple[PageRef, ...]:
        """The page in every other site language (a missing digest: its release page there)."""
        return tuple(self._in(page, lang) for lang in self.languages if lang is not page.language)

    def _in(self, page: PageRef, language: Language) -> PageRef:
        if page.kind is not PageKind.DIGEST or (page.release, page.area, language) in self.digests:
            return page.in_language(language)
        return PageRef(PageKind.VERSION, language, page.release)

    def pages(self) -> tuple[PageRef, ...]:
        """Every page of the site: navigation in every site language, digests where present."""
        found: list[PageRef] = []
        for language in self.languages:
            found += [
                PageRef(kind, language)
                for kind in (PageKind.HOME, PageKind.VERSIONS, PageKind.AREAS)
            ]
            found += [PageRef(PageKind.VERSION, language, key) for key in self.releases]
            found += [PageRef(PageKind.AREA, language, area=area.id) for area in self.areas]
            found += [PageRef(PageKind.TIMELINE, language, area=area.id) for area in self.areas]
        found += [
            PageRef(PageKind.DIGEST, lang, key, area)
            for key, area, lang in sorted(self.digests, key=_digest_order)
        ]
        return tuple(found)


def _digest_order(item: tuple[ReleaseKey, str, Language]) -> tuple[int, str, str, str]:
    key, area, language = item
    return (-key.version, key.channel.value, area, language.value)


def _language_order(language: Language) -> tuple[int, str]:
    # English, Chinese, then the others by code: a two-language site keeps its old order
    return ({Language.EN: 0, Language.ZH: 1}.get(language, 2), language.value)


def _release_order(key: ReleaseKey) -> tuple[int, int]:
    return (-key.version, 0 if key.channel is Channel.STABLE else 1)


def build_site_model(
    entries: Iterable[DigestEntry], names: AreaNames, languages: Iterable[Language] = ()
) -> SiteModel:
    """The model of ``entries``; areas in catalogue order (unknown areas last, named by id);
    site languages: English, plus ``languages`` and every language a digest is written in."""
    digests = {(e.key, e.area, e.language): e for e in entries}
    used = {area for _, area, _ in digests}
    ordered = [a for a in names if a in used] + sorted(used - set(names))
    areas = tuple(Area(a, *names.get(a, (a, a))) for a in ordered)
    present = {Language.EN, *languages, *(lang for _, _, lang in digests)}
    return SiteModel(
        releases=tuple(sorted({key for key, _, _ in digests}, key=_release_order)),
        areas=areas,
        languages=tuple(sorted(present, key=_language_order)),
        digests=digests,
    )
