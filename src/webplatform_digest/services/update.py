"""Keep a site current in one call: check → fetch what is new → process → digest → pages.

Each step is one of the existing services; this module only decides what the next step gets
from the last one. Running it again with nothing new on the developer site fetches nothing and
changes nothing (``nothing_new``), so a scheduled job may run it as often as it likes.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from webplatform_digest.container import Container
from webplatform_digest.errors import WebplatformError
from webplatform_digest.models import Channel, Product, ReleaseKey
from webplatform_digest.monitor.results import FetchResult, LatestReleases
from webplatform_digest.releases.page import Track
from webplatform_digest.runs.session import RunSummary
from webplatform_digest.services.digest import PlannedRun, run_planned
from webplatform_digest.services.pages import generate_pages
from webplatform_digest.services.process import process_release
from webplatform_digest.storage.workspace import Workspace

#: plans the digest run of one release (the shell's flags and backend already applied)
RunPlanner = Callable[[ReleaseKey], PlannedRun]

NOTHING_NEW = "nothing_new"
UPDATED = "updated"
FAILED = "failed"


@dataclass(frozen=True, slots=True)
class UpdateSummary:
    """What an update did, step by step, and its overall status."""

    status: str
    fetched: tuple[FetchResult, ...] = ()
    processed: tuple[str, ...] = ()
    runs: tuple[RunSummary, ...] = ()
    pages: dict[str, Any] | None = None
    errors: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (``update --json``)."""
        return {
            "status": self.status,
            "fetched": [result.to_dict() for result in self.fetched],
            "processed": list(self.processed),
            "runs": [run.to_json() for run in self.runs],
            "pages": self.pages,
            "errors": list(self.errors),
        }


def new_releases(latest: LatestReleases) -> tuple[tuple[Track, int], ...]:
    """The tracks whose newest note is on the site but not in the workspace."""
    return tuple(
        (release.track, release.version)
        for release in latest.releases
        if release.version is not None and not release.present
    )


def releases_to_process(
    fetched: Sequence[FetchResult], notes_present: Callable[[ReleaseKey], bool]
) -> tuple[ReleaseKey, ...]:
    """The Chrome releases a fetch changed: a WebGPU note joins its Chrome stable release
    (processed only when that release's note is present)."""
    keys: set[ReleaseKey] = set()
    for result in fetched:
        if result.outcome != "fetched":
            continue
        channel = Channel.BETA if result.track is Track.BETA else Channel.STABLE
        key = ReleaseKey(result.version, channel)
        if result.track is not Track.WEBGPU or notes_present(key):
            keys.add(key)
    return tuple(sorted(keys))


def _status(fetched: Sequence[FetchResult], errors: Sequence[str]) -> str:
    if errors:
        return FAILED
    return UPDATED if any(result.outcome == "fetched" for result in fetched) else NOTHING_NEW


async def update_site(
    container: Container, plan: RunPlanner, *, base_url: str | None = None
) -> UpdateSummary:
    """Bring the workspace's site up to date with the developer site.

    Failures of one step are collected (``status`` ``failed``) rather than raised, so the
    summary always says what was done before it.
    """
    monitor = container.monitor(base_url=base_url)
    latest = await monitor.check_latest("all")
    errors = [f"{r.track.value}: {r.error}" for r in latest.releases if r.failed]
    fetched: list[FetchResult] = []
    for track, version in new_releases(latest):
        result = await monitor.fetch_release_notes(version, track)
        fetched.append(result)
        if not result.ok:
            errors.append(f"fetch {track.value} {version}: {result.error}")
    workspace = container.workspace
    keys = releases_to_process(fetched, lambda key: _note_present(workspace, key))
    processed: list[str] = []
    runs: list[RunSummary] = []
    pages: dict[str, Any] | None = None
    try:
        for key in keys:
            await process_release(
                workspace, container.catalog, key.version, key.channel,
                writer=container.write_queue, telemetry=container.telemetry,
            )  # fmt: skip
            processed.append(key.slug)
            runs.append(await run_planned(container, plan(key)))
        if keys:
            summary = await generate_pages(
                workspace, container.catalog, container.write_queue,
                telemetry=container.telemetry,
            )  # fmt: skip
            pages = summary.to_json()
    except WebplatformError as exc:
        errors.append(str(exc))
    errors += [f"run {r.run_id} ({r.version}): {r.status}" for r in runs if r.status != "completed"]
    return UpdateSummary(
        _status(fetched, errors), tuple(fetched), tuple(processed), tuple(runs), pages,
        tuple(errors),
    )  # fmt: skip


def _note_present(workspace: Workspace, key: ReleaseKey) -> bool:
    rel = Workspace.release_note_rel(Product.CHROME, key.version, key.channel)
    return workspace.path(rel).is_file()
