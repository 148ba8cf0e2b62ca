"""Classify release-note features into focus areas (pure): ``FocusAreaManager``.

A feature belongs to every area whose ``heading_patterns`` (regular expressions, matched in
full, case-insensitively, against the normalised H2 section name) or ``aliases`` match its
section. Keywords (whole words, case-insensitive) in the feature title then add the areas that
allow multi-tagging (``multi_tag: true``): a "WebGPU …" feature under "Origin trials" lands in
both ``origin-trials`` and ``graphics-webgpu``. A feature of an unrecognised section goes to
every area whose keywords match its title, else to ``other``; such sections are reported as
unclassified. So every feature lands in at least one area.

WebGPU release notes are merged into ``graphics-webgpu`` after Chrome's own features there.
A WebGPU note feature that describes a Chrome feature of the area (the same ChromeStatus entry,
tracking bug or spec anchor, or the same title once words like "WebGPU", "WGSL", "feature" and
"extension" are set aside) is folded into it: one entry with the Chrome title, both bodies
(the note's code examples included) and the links of both. ``Classification.merges`` records
every fold, so feature conservation still adds up.
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from webplatform_digest.areas.catalog import OTHER_AREA, areas_from_layers
from webplatform_digest.errors import ConfigError, UnknownAreaError
from webplatform_digest.models import Feature, FocusArea, LinkType, Release
from webplatform_digest.releases.notes import normalised_title

WEBGPU_AREA = "graphics-webgpu"
_SPACES = re.compile(r"\s+")
#: title words that say where a feature is written up, not which feature it is
_TITLE_NOISE = frozenset(
    [
        "webgpu",
        "wgsl",
        "feature",
        "features",
        "extension",
        "extensions",
        "language",
        "support",
        "in",
        "the",
        "a",
        "an",
        "and",
        "for",
        "of",
    ]
)
_CHROMESTATUS_ID = re.compile(r"chromestatus\.com/(?:feature|features)/([0-9]+)", re.IGNORECASE)
_BUG_ID = re.compile(
    r"(?:crbug\.com/|issues\.chromium\.org/issues/|issuetracker\.google\.com/(?:issues/)?|"
    r"bugs\.chromium\.org/p/chromium/issues/detail\?id=)([0-9]{4,})",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class FeatureMerge:
    """A WebGPU note feature folded into the Chrome feature that describes the same change."""

    kept: str
    merged: str
    #: what they share: ``chromestatus:<id>``, ``bug:<id>``, ``spec:<url>`` or ``title``
    reason: str


@dataclass(frozen=True, slots=True)
class Classification:
    """One release's features by area (catalogue order), and the unrecognised sections."""

    by_area: tuple[tuple[str, tuple[Feature, ...]], ...]
    #: every distinct feature: the Chrome note's, then the merged WebGPU ones
    features: tuple[Feature, ...]
    #: sections (in release order) with features that fell through to ``other``
    unclassified: tuple[str, ...]
    #: WebGPU note features folded into a Chrome feature (not in ``features`` on their own)
    merges: tuple[FeatureMerge, ...] = ()

    @property
    def areas(self) -> tuple[str, ...]:
        """Ids of the areas with at least one feature."""
        return tuple(area for area, _ in self.by_area)

    def features_for(self, area: str) -> tuple[Feature, ...]:
        """The features of one area (empty if it has none)."""
        return dict(self.by_area).get(area, ())

    def counts(self) -> dict[str, int]:
        """Feature count per area."""
        return {area: len(features) for area, features in self.by_area}


@dataclass(frozen=True, slots=True)
class _Matcher:
    area: FocusArea
    patterns: tuple[re.Pattern[str], ...]
    aliases: frozenset[str]
    keywords: re.Pattern[str] | None


def normalise_section(name: str) -> str:
    """Section name as matched by heading patterns: NFKC, case-folded, no backticks, one space."""
    text = unicodedata.normalize("NFKC", name).replace("`", "").casefold()
    return _SPACES.sub(" ", text).strip()


class FocusAreaManager:
    """The validated catalogue with compiled matchers; classifies features and releases."""

    def __init__(self, areas: Iterable[FocusArea]) -> None:
        ordered = sorted(areas, key=lambda area: (area.priority, area.id))
        if not any(area.id == OTHER_AREA for area in ordered):
            raise ConfigError("focus area catalogue has no 'other' area (the fallback)")
        self._areas = tuple(ordered)
        self._by_id = {area.id: area for area in ordered}
        if len(self._by_id) != len(ordered):
            raise ConfigError("focus area catalogue has duplicate ids")
        self._matchers = tuple(_compile(area) for area in ordered)
        self._names = _lookup_names(ordered)
        self._sections: dict[str, tuple[tuple[str, ...], bool]] = {}

    @classmethod
    def from_yaml_texts(
        cls, texts: Mapping[str, str], overrides: Mapping[str, str] | None = None
    ) -> "FocusAreaManager":
        """Build from ``file name → YAML text`` defaults plus optional overriding files.

        Raises:
            ConfigError: a file is malformed (the message names it).
        """
        return cls(areas_from_layers([texts, overrides or {}]))

    @property
    def areas(self) -> tuple[FocusArea, ...]:
        """Every area, by priority then id."""
        return self._areas

    @property
    def ids(self) -> tuple[str, ...]:
        """Every area id, by priority then id."""
        return tuple(area.id for area in self._areas)

    def get(self, area_id: str) -> FocusArea:
        """The area with this id.

        Raises:
            UnknownAreaError: no such area (the message lists the valid ids).
        """
        area = self._by_id.get(area_id)
        if area is None:
            raise UnknownAreaError(area_id, self.ids)
        return area

    def resolve(self, name: str) -> str:
        """The id of the area called ``name`` (its id or one of its aliases, any case).

        Raises:
            UnknownAreaError: nothing in the catalogue has that name.
        """
        found = self._names.get(normalise_section(name))
        if found is None:
            raise UnknownAreaError(name, self.ids)
        return found

    def section_areas(self, section: str) -> tuple[str, ...]:
        """Ids of the areas whose heading patterns or aliases match ``section``."""
        ids, _ = self._section_match(section)
        return ids

    def classify(self, feature: Feature) -> tuple[str, ...]:
        """Area ids for one feature: section areas, then keyword areas; ``('other',)`` if none."""
        return self._classify(feature)[0]

    def classify_release(self, release: Release, webgpu: Release | None = None) -> Classification:
        """Every feature of ``release`` by area, with ``webgpu``'s merged into graphics-webgpu."""
        buckets: dict[str, list[Feature]] = {}
        unclassified: dict[str, None] = {}
        for feature in release.features:
            ids, fell_through = self._classify(feature)
            if fell_through:
                unclassified[feature.section] = None
            for area_id in ids:
                buckets.setdefault(area_id, []).append(feature)
        features = list(release.features)
        merges: tuple[FeatureMerge, ...] = ()
        if webgpu is not None:
            target = WEBGPU_AREA if WEBGPU_AREA in self._by_id else OTHER_AREA
            current = tuple(buckets.get(target, ()))
            folded, added, merges = merge_webgpu_features(current, webgpu.features)
            replaced = dict(zip(map(id, current), folded, strict=True))
            for area_id, members in buckets.items():
                buckets[area_id] = [replaced.get(id(f), f) for f in members]
            features = [replaced.get(id(f), f) for f in features]
            if added:
                buckets[target] = [*buckets.get(target, ()), *added]
                features.extend(added)
        by_area = tuple((a.id, tuple(buckets[a.id])) for a in self._areas if a.id in buckets)
        return Classification(by_area, tuple(features), tuple(unclassified), merges)

    def _classify(self, feature: Feature) -> tuple[tuple[str, ...], bool]:
        section_ids, section_is_other = self._section_match(feature.section)
        keyword_ids = [
            m.area.id for m in self._matchers if m.keywords and m.keywords.search(feature.title)
        ]
        if section_ids:
            extra = [i for i in keyword_ids if self._by_id[i].multi_tag and i not in section_ids]
            return (*section_ids, *extra), False
        if keyword_ids:
            return tuple(keyword_ids), False
        return (OTHER_AREA,), not section_is_other

    def _section_match(self, section: str) -> tuple[tuple[str, ...], bool]:
        """(matching area ids other than ``other``, whether ``other`` itself matched)."""
        cached = self._sections.get(section)
        if cached is not None:
            return cached
        name = normalise_section(section)
        matched = [m.area.id for m in self._matchers if _section_matches(m, name)]
        result = (tuple(i for i in matched if i != OTHER_AREA), OTHER_AREA in matched)
        if len(self._sections) < 4096:  # bounded: section names come from input files
            self._sections[section] = result
        return result


def _compile(area: FocusArea) -> _Matcher:
    patterns = tuple(re.compile(p, re.IGNORECASE) for p in area.heading_patterns)
    aliases = frozenset(normalise_section(a) for a in (*area.aliases, area.name))
    keywords = None
    if area.keywords:
        words = sorted({re.escape(k) for k in area.keywords}, key=len, reverse=True)
        keywords = re.compile(
            r"(?<![A-Za-z0-9])(?:" + "|".join(words) + r")(?![A-Za-z0-9])", re.IGNORECASE
        )
    return _Matcher(area, patterns, aliases, keywords)


def _section_matches(matcher: _Matcher, name: str) -> bool:
    return name in matcher.aliases or any(p.fullmatch(name) for p in matcher.patterns)


def _lookup_names(areas: Sequence[FocusArea]) -> dict[str, str]:
    names: dict[str, str] = {}
    for area in areas:  # ids win over aliases; earlier (higher-priority) aliases win ties
        for alias in area.aliases:
            names.setdefault(normalise_section(alias), area.id)
    for area in areas:
        names[area.id] = area.id
    return names


def _identities(feature: Feature) -> set[str]:
    """What names a feature beyond its wording: ChromeStatus ids, bug ids, spec anchors."""
    keys: set[str] = set()
    for link in feature.links:
        if link.type is LinkType.CHROMESTATUS and (found := _CHROMESTATUS_ID.search(link.url)):
            keys.add(f"chromestatus:{found[1]}")
        elif link.type is LinkType.TRACKING_BUG and (found := _BUG_ID.search(link.url)):
            keys.add(f"bug:{found[1]}")
        elif link.type is LinkType.SPEC and "#" in link.url:  # a spec's front page names nothing
            keys.add("spec:" + link.url.split("://", 1)[-1].removeprefix("www.").casefold())
    return keys


def _title_key(title: str) -> str:
    return " ".join(w for w in normalised_title(title).split() if w not in _TITLE_NOISE)


def _match(feature: Feature, chrome: Sequence[Feature]) -> tuple[int, str] | None:
    keys = _identities(feature)
    for index, candidate in enumerate(chrome):
        if shared := sorted(keys & _identities(candidate)):
            return index, shared[0]
    title = _title_key(feature.title)
    for index, candidate in enumerate(chrome):
        if title and _title_key(candidate.title) == title:
            return index, "title"
    return None


def _fold(kept: Feature, other: Feature) -> Feature:
    body = kept.body.strip()
    extra = other.body.strip()
    if extra and extra not in body:
        body = f"{body}\n\n{extra}" if body else extra
    known = {link.url for link in kept.links}
    links = kept.links + tuple(link for link in other.links if link.url not in known)
    return Feature(kept.title, kept.section, body, links, kept.product, kept.line)


def merge_webgpu_features(
    chrome: Sequence[Feature], webgpu: Sequence[Feature]
) -> tuple[tuple[Feature, ...], tuple[Feature, ...], tuple[FeatureMerge, ...]]:
    """Fold the WebGPU note's features into Chrome's features of the area.

    Returns ``chrome`` with folded features replaced (same order and length), the WebGPU
    features that describe something new (distinct titles, note order), and the folds made.
    """
    folded = list(chrome)
    added: list[Feature] = []
    merges: list[FeatureMerge] = []
    for feature in webgpu:
        found = _match(feature, chrome)
        if found is not None:
            index, reason = found
            folded[index] = _fold(folded[index], feature)
            merges.append(FeatureMerge(chrome[index].title, feature.title, reason))
            continue
        same = next(
            (i for i, f in enumerate(added) if _title_key(f.title) == _title_key(feature.title)),
            None,
        )
        if same is not None:
            added[same] = _fold(added[same], feature)
            merges.append(FeatureMerge(added[same].title, feature.title, "title"))
        else:
            added.append(feature)
    return tuple(folded), tuple(added), tuple(merges)
