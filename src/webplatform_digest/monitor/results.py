"""What the release monitor reports: latest versions, fetch results, backfill summaries.

Frozen values with a JSON-ready ``to_dict`` (``channel`` in place of the internal ``track``),
returned by ``ReleaseMonitor`` and rendered by the CLI and the MCP tools.
"""

from dataclasses import dataclass, fields
from typing import Any

from webplatform_digest.releases.page import Track


def _as_dict(value: Any) -> dict[str, Any]:
    """A result's fields, ``track`` reported as ``channel`` (the name users pass in)."""
    data = {f.name: getattr(value, f.name) for f in fields(value)}
    data["channel"] = data.pop("track").value
    return data


@dataclass(frozen=True, slots=True)
class LatestRelease:
    """The newest note found for one track (``version`` None when none could be found)."""

    track: Track
    version: int | None
    url: str | None
    present: bool = False
    found_by: str = ""
    error: str = ""

    @property
    def failed(self) -> bool:
        """No version found, or only the workspace's own because the site could not be read
        (an answer the site did not confirm)."""
        return self.version is None or (self.found_by == "workspace" and bool(self.error))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return _as_dict(self)


@dataclass(frozen=True, slots=True)
class LatestReleases:
    """What ``check_latest`` found, per track."""

    releases: tuple[LatestRelease, ...]
    checked_at: str

    def get(self, track: Track) -> LatestRelease | None:
        """The entry for ``track``, if it was checked."""
        return next((r for r in self.releases if r.track is track), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"checked_at": self.checked_at, "releases": [r.to_dict() for r in self.releases]}


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One note fetch: ``fetched``, ``unchanged``, ``present``, ``not_found`` or ``failed``."""

    track: Track
    version: int
    outcome: str
    path: str
    url: str
    bytes: int = 0
    features: int = 0
    sections: int = 0
    fetched_at: str = ""
    error: str = ""
    status: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the note is now in the workspace."""
        return self.outcome in ("fetched", "unchanged", "present")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return _as_dict(self)


@dataclass(frozen=True, slots=True)
class BackfillResult:
    """The fetches of one backfill range, in version order."""

    track: Track
    first: int
    last: int
    results: tuple[FetchResult, ...]

    def count(self, outcome: str) -> int:
        """How many fetches ended with ``outcome``."""
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def failed(self) -> tuple[FetchResult, ...]:
        """Fetches that failed (a missing page is ``not_found``, not a failure)."""
        return tuple(r for r in self.results if r.outcome == "failed")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        outcomes = ("fetched", "unchanged", "present", "not_found", "failed")
        return {
            "channel": self.track.value,
            "range": [self.first, self.last],
            "counts": {name: self.count(name) for name in outcomes},
            "results": [r.to_dict() for r in self.results],
        }
