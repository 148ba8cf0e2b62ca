"""Release monitor: page conversion time, and fetch + convert throughput on a loopback site."""

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
from tests.site_server import DATA_DIR, Route, expected_pages, running_site

from webplatform_digest.monitor.chrome_site import MonitorConfig, SiteClient
from webplatform_digest.monitor.tracker import ReleaseMonitor
from webplatform_digest.releases.page import Track, convert_release_page
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import DirectWriter

CONVERT_ROUNDS = 40
BACKFILL_VERSIONS = 40
SITE = "https://developer.chrome.com"


def _convert_ms(html: str, track: Track, version: int, path: str) -> float:
    samples = []
    for _ in range(CONVERT_ROUNDS):
        started = time.perf_counter()
        convert_release_page(html, track=track, version=version, url=SITE + path)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _conversion_figures() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for page in expected_pages():
        html = (DATA_DIR / page.fixture).read_text(encoding="utf-8")
        ms = _convert_ms(html, Track(page.track), page.version, page.path)
        figures[f"convert_ms_{page.fixture.removesuffix('.html')}"] = round(ms, 3)
    # a page of realistic size: the stable fixture's article repeated to ~300 KB
    html = (DATA_DIR / "release-notes-150.html").read_text(encoding="utf-8")
    head, sep, tail = html.partition('<h2 id="css-and-ui"')
    body, end, rest = (sep + tail).partition("              </div>\n              <devsite")
    big = head + body * 25 + end + rest
    ms = _convert_ms(big, Track.STABLE, 150, "/release-notes/150")
    figures["convert_large_page_kib"] = round(len(big.encode()) / 1024, 1)
    figures["convert_large_page_ms"] = round(ms, 2)
    figures["convert_large_page_mib_per_s"] = round(len(big.encode()) / 1048576 / (ms / 1000), 2)
    return figures


async def _backfill_seconds(base_url: str, concurrency: int) -> float:
    config = MonitorConfig(base_url=base_url, timeout=10.0, concurrency=concurrency)
    with tempfile.TemporaryDirectory() as root:
        workspace = Workspace.at(Path(root))
        async with httpx.AsyncClient(trust_env=False) as client:
            monitor = ReleaseMonitor(
                workspace=workspace,
                writer=DirectWriter(workspace),
                site=SiteClient(client, config),
            )
            started = time.perf_counter()
            result = await monitor.backfill((100, 100 + BACKFILL_VERSIONS - 1))
            seconds = time.perf_counter() - started
    assert result.count("fetched") == BACKFILL_VERSIONS, result.to_dict()["counts"]
    return seconds


def _throughput_figures(latency: float, label: str) -> dict[str, Any]:
    html = (DATA_DIR / "release-notes-150.html").read_text(encoding="utf-8")
    with running_site() as site:
        for version in range(100, 100 + BACKFILL_VERSIONS):
            body = html.replace("Chrome 150", f"Chrome {version}").encode()
            site.routes[f"/release-notes/{version}"] = Route(body=body, latency=latency)
        serial = anyio.run(_backfill_seconds, site.base_url, 1)
        parallel = anyio.run(_backfill_seconds, site.base_url, 4)
    return {
        f"backfill_{label}_pages_per_s_concurrency_1": round(BACKFILL_VERSIONS / serial, 1),
        f"backfill_{label}_pages_per_s_concurrency_4": round(BACKFILL_VERSIONS / parallel, 1),
        f"backfill_{label}_speedup_4_vs_1": round(serial / parallel, 2),
    }


def run() -> dict[str, Any]:
    """Conversion time per fixture page and loopback fetch + convert + write throughput.

    ``loopback``: no network delay, so the figures are the monitor's own cost per page.
    ``latency50ms``: each answer delayed 50 ms, as from a distant site; concurrency pays here.
    """
    return {
        **_conversion_figures(),
        "backfill_pages": BACKFILL_VERSIONS,
        **_throughput_figures(0.0, "loopback"),
        **_throughput_figures(0.05, "latency50ms"),
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<48} {value}")
