"""What an update hands from one step to the next (pure decisions)."""

from webplatform_digest.models import Channel, ReleaseKey
from webplatform_digest.monitor.results import FetchResult, LatestRelease, LatestReleases
from webplatform_digest.releases.page import Track
from webplatform_digest.services.update import new_releases, releases_to_process


def _fetched(track: Track, version: int, outcome: str = "fetched") -> FetchResult:
    return FetchResult(track=track, version=version, outcome=outcome, path="p", url="u")


def test_only_tracks_whose_newest_note_is_missing_are_new() -> None:
    latest = LatestReleases(
        (
            LatestRelease(Track.STABLE, 150, "u", present=True),
            LatestRelease(Track.BETA, 151, "u", present=False),
            LatestRelease(Track.WEBGPU, None, None, error="unreachable"),
        ),
        checked_at="2026-12-05T00:00:00Z",
    )
    assert new_releases(latest) == ((Track.BETA, 151),)


def test_a_webgpu_note_reprocesses_its_stable_release_only_when_that_note_is_present() -> None:
    """Beta 151 and WebGPU 150 fetched: 151-beta always; 150 stable only if chrome-150.md is."""
    fetched = [_fetched(Track.BETA, 151), _fetched(Track.WEBGPU, 150)]
    beta = ReleaseKey(151, Channel.BETA)
    assert releases_to_process(fetched, lambda key: False) == (beta,)
    stable = ReleaseKey(150, Channel.STABLE)
    assert releases_to_process(fetched, lambda key: key == stable) == (stable, beta)


def test_failed_or_unchanged_fetches_process_nothing() -> None:
    fetched = [_fetched(Track.STABLE, 150, "failed"), _fetched(Track.BETA, 151, "present")]
    assert releases_to_process(fetched, lambda key: True) == ()
