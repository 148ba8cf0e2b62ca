"""Validating the arguments of a digest run and loading its area data into a ``RunPlan``.

Every argument is checked before anything is written: the version (``models.parse_version``),
the channel, the language choice, and each area against the catalogue (aliases accepted; an
unknown one names the valid ids). A release that was never processed is a ``NotFoundError``
that says to run ``process`` first.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from webplatform_digest.areas.classify import FocusAreaManager
from webplatform_digest.digest.languages import parse_languages
from webplatform_digest.digest.plan import RunPlan
from webplatform_digest.digest.prompts import RequestOptions, Subject
from webplatform_digest.errors import InputError, NotFoundError
from webplatform_digest.models import (
    AreaData,
    AreaStatistics,
    Channel,
    Language,
    ReleaseKey,
    parse_channel,
    parse_version,
)
from webplatform_digest.storage.area_store import AreaStore

#: longest area name accepted before looking it up
MAX_AREA_ARGUMENT = 100


@dataclass(frozen=True, slots=True)
class RunRequest:
    """A validated request for a digest run."""

    version: int
    channel: Channel
    areas: tuple[str, ...] | None
    languages: tuple[Language, ...]
    use_cache: bool = True
    #: replace model digests on disk even where this run only has fallbacks
    overwrite: bool = False

    @property
    def key(self) -> ReleaseKey:
        """The release this run is about."""
        return ReleaseKey(self.version, self.channel)

    def to_json(self) -> dict[str, object]:
        """Parameters as stored in the run registry."""
        return {
            "version": self.version,
            "channel": self.channel.value,
            "areas": list(self.areas) if self.areas is not None else None,
            "languages": [lang.value for lang in self.languages],
            "use_cache": self.use_cache,
            "overwrite": self.overwrite,
        }


def parse_run_request(
    *,
    version: object,
    catalog: FocusAreaManager,
    channel: object = "stable",
    focus_areas: Sequence[str] | str | None = None,
    language: object = "bilingual",
    use_cache: bool = True,
    overwrite: bool = False,
) -> RunRequest:
    """Validate the arguments of ``webplatform_digest`` / ``webplatform-digest run``.

    Raises:
        InvalidVersionError: malformed version or channel.
        UnknownAreaError: an area is not in the catalogue (the message lists the valid ones).
        InputError: bad language, empty or too long area list, non-string area.
    """
    return RunRequest(
        version=parse_version(version),
        channel=parse_channel(channel),
        areas=_areas(focus_areas, catalog),
        languages=parse_languages(language),
        use_cache=bool(use_cache),
        overwrite=overwrite is True,
    )


def _areas(value: Sequence[str] | str | None, catalog: FocusAreaManager) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, str | list | tuple):
        raise InputError("focus_areas must be a list of area ids or a comma-separated string")
    # values come from MCP clients and shells: check types at runtime, whatever the hints say
    items: list[object] = (
        [part.strip() for part in value.split(",")] if isinstance(value, str) else list(value)
    )
    valid = catalog.ids
    if len(items) > len(valid):
        raise InputError(
            f"too many focus areas ({len(items)}); the catalogue has {len(valid)}: "
            + ", ".join(valid)
        )
    resolved: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise InputError("focus areas must be non-empty area ids; valid: " + ", ".join(valid))
        if len(item) > MAX_AREA_ARGUMENT:
            raise InputError(f"focus area name too long ({len(item)} characters)")
        resolved.append(catalog.resolve(item))
    if not resolved:
        raise InputError("no focus area given; valid areas: " + ", ".join(valid))
    return tuple(dict.fromkeys(resolved))


def build_plan(
    request: RunRequest,
    *,
    run_id: str,
    store: AreaStore,
    catalog: FocusAreaManager,
    backend: str,
    options: RequestOptions,
    parallel: bool = False,
) -> RunPlan:
    """Load the area data of the request into a plan (file reads; no writes).

    Raises:
        NotFoundError: the release has no processed area data (run ``process`` first).
        ParseError: an area file is corrupt.
    """
    key = request.key
    available = store.areas_for(key)
    if not available:
        beta = " --channel beta" if key.channel is Channel.BETA else ""
        raise NotFoundError(
            f"Chrome {key.version} ({key.channel.value}) has not been processed yet; run: "
            f"webplatform-digest process --version {key.version}{beta}"
        )
    wanted = request.areas if request.areas is not None else _catalog_order(available, catalog)
    subjects: list[Subject] = []
    for area_id in wanted:
        area = catalog.get(area_id)
        data = store.load(area_id, key) if area_id in available else _empty(area_id, key)
        subjects.append(Subject(data, area.name, area.name_zh or area.name))
    return RunPlan(
        run_id=run_id,
        version=key.version,
        channel=key.channel,
        languages=request.languages,
        subjects=tuple(subjects),
        backend=backend,
        options=options,
        overwrite=request.overwrite,
        parallel=parallel and len(request.languages) > 1,
    )


def _catalog_order(available: tuple[str, ...], catalog: FocusAreaManager) -> tuple[str, ...]:
    """Areas with data, in catalogue order (files of areas no longer configured are skipped)."""
    present = set(available)
    return tuple(area_id for area_id in catalog.ids if area_id in present)


def _empty(area: str, key: ReleaseKey) -> AreaData:
    """An area the release note does not touch: it gets the short deterministic page."""
    return AreaData(key.version, key.channel, area, (), AreaStatistics(0, 0))
