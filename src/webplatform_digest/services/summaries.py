"""What ``process`` and ``pages`` report: the summaries and their JSON form.

Kept apart from the services so the fast paths of the CLI (``cli/fast.py``) build the very
same values, and so print the very same bytes, without importing the parser or the renderers.
"""

from dataclasses import dataclass
from typing import Any

from webplatform_digest.events import PagesGenerated, ReleaseProcessed
from webplatform_digest.models import Channel
from webplatform_digest.storage.workspace import Workspace


@dataclass(frozen=True, slots=True)
class ProcessSummary:
    """What processing one release did."""

    version: int
    channel: Channel
    areas: tuple[tuple[str, int], ...]
    features_total: int
    links_total: int
    unclassified: tuple[str, ...]
    written: tuple[str, ...]
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    webgpu_features: int = 0
    source_hash: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON summary printed by ``process --json`` and returned by the MCP tool."""
        return {
            "version": self.version,
            "channel": self.channel.value,
            "areas": dict(self.areas),
            "features_total": self.features_total,
            "links_total": self.links_total,
            "unclassified": list(self.unclassified),
            "written": list(self.written),
            "unchanged": list(self.unchanged),
            "removed": list(self.removed),
            "webgpu_features": self.webgpu_features,
            "source_hash": self.source_hash,
        }


@dataclass(frozen=True, slots=True)
class PagesSummary:
    """What a site generation did."""

    pages: int
    written: int
    unchanged: int
    removed: int
    wall_seconds: float
    preview: str | None = None
    skipped: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The summary as the CLI's ``--json`` and the MCP tool return it."""
        return {
            "pages": self.pages,
            "written": self.written,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "wall_seconds": round(self.wall_seconds, 4),
            "site": str(Workspace.DIGESTS),
            "preview": self.preview,
            "skipped": list(self.skipped),
        }


def process_event(summary: ProcessSummary) -> ReleaseProcessed:
    """The telemetry record of one processed release."""
    return ReleaseProcessed(
        version=summary.version,
        channel=summary.channel.value,
        features=summary.features_total,
        areas=len(summary.areas),
        written=len(summary.written),
        unchanged=len(summary.unchanged),
        removed=len(summary.removed),
        unclassified=len(summary.unclassified),
    )


def pages_event(summary: PagesSummary) -> PagesGenerated:
    """The telemetry record of one site generation."""
    return PagesGenerated(
        pages=summary.pages,
        written=summary.written,
        unchanged=summary.unchanged,
        removed=summary.removed,
        seconds=summary.wall_seconds,
    )
