"""Classify release-note features into focus areas (pure): ``FocusAreaManager``.

A feature belongs to every area whose ``heading_patterns`` (regular expressions, matched in
full, case-insensitively, against the normalised H2 section name) or ``aliases`` match its
section. Keywords (whole words, case-insensitive) in the feature title then add the areas that
allow multi-tagging (``multi_tag: true``): a "WebGPU …" feature under "Origin trials" lands in
both ``origin-trials`` and ``graphics-webgpu``. A feature of an unrecognised section goes to
every area whose keywords match its title, else to ``other``; such sections are reported as
unclassified. So every feature lands in at least one area.

WebGPU release notes are merged into ``graphics-webgpu`` after Chrome's own features there,
de-duplicated by normalised title (``release_notes.merge_webgpu``).
"""

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from webplatform_digest.areas.catalog import OTHER_AREA, areas_from_layers
from webplatform_digest.errors import ConfigError, UnknownAreaError
from webplatform_digest.models import Feature, FocusArea, Release
from webplatform_digest.releases.notes import merge_webgpu

WEBGPU_AREA = "graphics-webgpu"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Classification:
    """One release's features by area (catalogue order), and the unrecognised sections."""

    by_area: tuple[tuple[str, tuple[Feature, ...]], ...]
    #: every distinct feature: the Chrome note's, then the merged WebGPU ones
    features: tuple[Feature, ...]
    #: sections (in release order) with features that fell through to ``other``
    unclassified: tuple[str, ...]

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
        if webgpu is not None:
            target = WEBGPU_AREA if WEBGPU_AREA in self._by_id else OTHER_AREA
            current = tuple(buckets.get(target, ()))
            merged = merge_webgpu(current, webgpu)
            if len(merged) > len(current):
                buckets[target] = list(merged)
                features.extend(merged[len(current) :])
        by_area = tuple((a.id, tuple(buckets[a.id])) for a in self._areas if a.id in buckets)
        return Classification(by_area, tuple(features), tuple(unclassified))

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
