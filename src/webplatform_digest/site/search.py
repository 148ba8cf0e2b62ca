"""The feature index and its search (pure): every feature of the processed releases present.

The index is built from the per-area documents (``processed/areas/<area>/chrome-<v>-<c>.yml``),
one ``IndexedFile`` per document with the fingerprint it was read at, so an edge can re-read
only the documents whose fingerprint changed (``updated_index``). A search filters by words,
area and milestone range and says each feature's stage the way the feature history does: a
feature whose ChromeStatus entry is also in the release's origin-trial or deprecation area is at
that stage.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from webplatform_digest.errors import ParseError
from webplatform_digest.models import AreaData, Channel, Language, LinkType, ReleaseKey
from webplatform_digest.site.history import STAGE_AREAS, chromestatus_ids
from webplatform_digest.site.model import PageKind, PageRef, page_parts

SCHEMA = 1
SUMMARY_CHARS = 280
MAX_LIMIT = 500
_STAGE_NAMES = {"origin-trials": "origin trial", "deprecations": "deprecated"}


@dataclass(frozen=True, slots=True)
class IndexedFeature:
    """One feature of one area of one release, as the index keeps it."""

    version: int
    channel: str
    area: str
    title: str
    section: str
    summary: str
    chromestatus: str
    status_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IndexedFile:
    """The features of one per-area document and the fingerprint they were read at."""

    path: str
    fingerprint: str
    features: tuple[IndexedFeature, ...]


@dataclass(frozen=True, slots=True)
class SearchIndex:
    """Every indexed per-area document (sorted by path when built by ``updated_index``)."""

    files: tuple[IndexedFile, ...] = ()

    @property
    def features(self) -> tuple[IndexedFeature, ...]:
        """Every feature of every document, in document order."""
        return tuple(feature for file in self.files for feature in file.features)

    def to_json(self) -> dict[str, Any]:
        """The stored (and served) JSON form."""
        return {
            "schema": SCHEMA,
            "files": [
                {
                    "path": file.path,
                    "fingerprint": file.fingerprint,
                    "features": [_feature_json(feature) for feature in file.features],
                }
                for file in self.files
            ],
        }


def _feature_json(feature: IndexedFeature) -> dict[str, Any]:
    return {
        "version": feature.version,
        "channel": feature.channel,
        "area": feature.area,
        "title": feature.title,
        "section": feature.section,
        "summary": feature.summary,
        "chromestatus": feature.chromestatus,
        "status_ids": list(feature.status_ids),
    }


def index_from_json(document: Any) -> SearchIndex:
    """The index stored by ``SearchIndex.to_json``.

    Raises:
        ParseError: not an index of this schema.
    """
    try:
        if document["schema"] != SCHEMA:
            raise ParseError(f"feature index schema {document['schema']!r} is not {SCHEMA}")
        files = tuple(
            IndexedFile(
                str(file["path"]),
                str(file["fingerprint"]),
                tuple(
                    IndexedFeature(
                        int(f["version"]),
                        str(f["channel"]),
                        str(f["area"]),
                        str(f["title"]),
                        str(f["section"]),
                        str(f["summary"]),
                        str(f["chromestatus"]),
                        tuple(str(i) for i in f["status_ids"]),
                    )
                    for f in file["features"]
                ),
            )
            for file in document["files"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ParseError(f"feature index is malformed: {exc!r}") from None
    return SearchIndex(files)


def index_file(path: str, fingerprint: str, data: AreaData) -> IndexedFile:
    """The index entry of one per-area document."""
    features: list[IndexedFeature] = []
    for feature in data.features:
        links = [link.url for link in feature.links if link.type is LinkType.CHROMESTATUS]
        ids = tuple(dict.fromkeys(i for url in links for i in chromestatus_ids(url)))
        features.append(
            IndexedFeature(
                data.version,
                data.channel.value,
                data.area,
                feature.title,
                feature.section,
                _summary(feature.body),
                links[0] if links else "",
                ids,
            )
        )
    return IndexedFile(path, fingerprint, tuple(features))


def _summary(body: str) -> str:
    text = " ".join(body.split())
    if len(text) <= SUMMARY_CHARS:
        return text
    return text[: SUMMARY_CHARS - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class IndexUpdate:
    """An updated index and how many documents had to be read for it."""

    index: SearchIndex
    reread: int
    dropped: int


def updated_index(
    old: SearchIndex, present: Mapping[str, str], read: Callable[[str], IndexedFile]
) -> IndexUpdate:
    """``old`` brought up to date with ``present`` (document path → fingerprint): documents
    whose fingerprint is unchanged are kept, new or changed ones are ``read``, gone ones dropped."""
    kept = {file.path: file for file in old.files if present.get(file.path) == file.fingerprint}
    files = [kept.get(path) or read(path) for path in sorted(present)]
    dropped = sum(1 for file in old.files if file.path not in present)
    return IndexUpdate(SearchIndex(tuple(files)), len(present) - len(kept), dropped)


# search --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to look for: all ``text`` words (any case), one area, a milestone range."""

    text: str = ""
    area: str | None = None
    since: int | None = None
    until: int | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class FeatureHit:
    """One feature found."""

    version: int
    channel: str
    stage: str
    area: str
    title: str
    summary: str
    chromestatus: str
    digest_page: str

    def to_json(self) -> dict[str, Any]:
        """The result JSON of one feature."""
        return {
            "version": self.version,
            "channel": self.channel,
            "stage": self.stage,
            "area": self.area,
            "title": self.title,
            "summary": self.summary,
            "chromestatus": self.chromestatus,
            "digest_page": self.digest_page,
        }


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The features found, newest release first, and how many matched before the limit."""

    query: SearchQuery
    total: int
    features: tuple[FeatureHit, ...]

    def to_json(self) -> dict[str, Any]:
        """The tool's (and ``search --json``'s) result."""
        return {
            "query": self.query.text,
            "area": self.query.area,
            "since": self.query.since,
            "until": self.query.until,
            "limit": self.query.limit,
            "total": self.total,
            "features": [hit.to_json() for hit in self.features],
        }


def search(index: SearchIndex, query: SearchQuery) -> SearchResult:
    """The features of ``index`` matching ``query``, newest release first."""
    words = query.text.casefold().split()
    stages = _stage_ids(index.features)
    found = [
        feature
        for feature in index.features
        if (query.area is None or feature.area == query.area)
        and (query.since is None or feature.version >= query.since)
        and (query.until is None or feature.version <= query.until)
        and _matches(feature, words)
    ]
    found.sort(key=lambda f: (-f.version, f.channel != Channel.STABLE.value, f.area))
    hits = tuple(_hit(feature, stages) for feature in found[: query.limit])
    return SearchResult(query, len(found), hits)


def _matches(feature: IndexedFeature, words: Iterable[str]) -> bool:
    text = f"{feature.title}\n{feature.summary}".casefold()
    return all(word in text for word in words)


_Stages = Mapping[tuple[int, str, str], str]


def _stage_ids(features: Iterable[IndexedFeature]) -> _Stages:
    """(version, channel, ChromeStatus id) → stage, from the stage areas of each release."""
    stages: dict[tuple[int, str, str], str] = {}
    for feature in features:
        if feature.area in STAGE_AREAS:
            for status_id in feature.status_ids:
                stages[(feature.version, feature.channel, status_id)] = _STAGE_NAMES[feature.area]
    return stages


def _stage(feature: IndexedFeature, stages: _Stages) -> str:
    if feature.area in _STAGE_NAMES:
        return _STAGE_NAMES[feature.area]
    for status_id in feature.status_ids:
        if found := stages.get((feature.version, feature.channel, status_id)):
            return found
    return "beta" if feature.channel == Channel.BETA.value else "shipped"


def _hit(feature: IndexedFeature, stages: _Stages) -> FeatureHit:
    key = ReleaseKey(feature.version, Channel(feature.channel))
    page = PageRef(PageKind.DIGEST, Language.EN, key, feature.area)
    path = "/".join((*page_parts(page), f"{page.stem}.html"))
    return FeatureHit(
        feature.version,
        feature.channel,
        _stage(feature, stages),
        feature.area,
        feature.title,
        feature.summary,
        feature.chromestatus,
        path,
    )
