"""Feature history across releases (pure): the same ChromeStatus entry in several releases.

A feature often recurs: an origin trial in one release, shipped in a later one, deprecated
later still. The index is built from the digests on the site: each feature section (a level-2
heading of a digest) is keyed by the ChromeStatus entries it links. Digest pages then say
where else their features appear, and each area gets a timeline page across releases.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from webplatform_digest.models import Language, ReleaseKey
from webplatform_digest.site.markdown import neutralise_markdown
from webplatform_digest.site.model import SiteModel

_CHROMESTATUS = re.compile(r"chromestatus\.com/(?:feature|features)/([0-9]{4,20})", re.IGNORECASE)
_H2_LINE = re.compile(r"^ {0,3}##[ \t]")


@dataclass(frozen=True, slots=True)
class Sighting:
    """One feature section of one digest: where it is and what it is called there."""

    release: ReleaseKey
    area: str
    index: int
    title: str


FeatureIndex = Mapping[str, tuple[Sighting, ...]]

#: areas that say what stage a feature is at rather than what it is about
STAGE_AREAS = ("origin-trials", "deprecations")


def chromestatus_ids(text: str) -> tuple[str, ...]:
    """The ChromeStatus entry ids ``text`` links, in order of appearance."""
    return tuple(_CHROMESTATUS.findall(text))


@lru_cache(maxsize=4096)
def _section_entries(markdown: str) -> Mapping[int, frozenset[str]]:
    """ChromeStatus ids per feature section (1-based), read where code is one line (cached:
    both the index and every digest page's "in other releases" ask for each digest)."""
    found: dict[int, set[str]] = {}
    section = 0
    for line in neutralise_markdown(markdown).split("\n"):
        if _H2_LINE.match(line):
            section += 1
        elif section and "chromestatus" in line.lower():
            found.setdefault(section, set()).update(_CHROMESTATUS.findall(line))
    return MappingProxyType({number: frozenset(ids) for number, ids in found.items()})


def feature_index(model: SiteModel, language: Language) -> FeatureIndex:
    """ChromeStatus id → every feature section linking it, newest release first, in
    ``language`` (computed once per model)."""
    return model.memo(("history", language), lambda: _build(model, language))


def _build(model: SiteModel, language: Language) -> FeatureIndex:
    index: dict[str, list[Sighting]] = {}
    for (key, area, lang), entry in model.digests.items():
        if lang is not language:
            continue
        for number, ids in _section_entries(entry.markdown).items():
            if number > len(entry.features):
                continue
            sighting = Sighting(key, area, number, entry.features[number - 1])
            for status_id in ids:
                index.setdefault(status_id, []).append(sighting)
    order = {key: position for position, key in enumerate(model.releases)}
    return {
        status_id: tuple(sorted(found, key=lambda s: (order[s.release], s.area, s.index)))
        for status_id, found in index.items()
        if len({s.release for s in found}) > 1
    }


def elsewhere(
    model: SiteModel, language: Language, release: ReleaseKey, area: str
) -> tuple[tuple[Sighting, Sighting], ...]:
    """(a feature of this digest, the same feature in another release) pairs, newest first,
    one per other release and feature."""
    entry = model.digest(release, area, language)
    if entry is None:
        return ()
    index = feature_index(model, language)
    pairs: dict[tuple[int, ReleaseKey], tuple[Sighting, Sighting]] = {}
    for number, ids in sorted(_section_entries(entry.markdown).items()):
        if number > len(entry.features):
            continue
        here = Sighting(release, area, number, entry.features[number - 1])
        for status_id in sorted(ids):
            for other in index.get(status_id, ()):
                if other.release != release:
                    pairs.setdefault((number, other.release), (here, other))
    return tuple(pairs.values())
