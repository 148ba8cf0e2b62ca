"""``check`` and ``fetch`` through a real CLI subprocess against a loopback developer site."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_process import run_cli
from tests.site_server import SiteServer, expected_pages, running_site
from tests.telemetry.prometheus_server import free_port

# every test runs the CLI as a subprocess
pytestmark = pytest.mark.slow


@pytest.fixture
def site() -> Iterator[SiteServer]:
    """The loopback developer site with the fixture pages and listings."""
    with running_site() as server:
        for page in expected_pages():
            server.page(page.path, page.fixture)
        server.page("/release-notes", "release-notes-index.html")
        server.page("/blog", "blog-index.html")
        yield server


def test_check_json_lists_the_newest_release_of_each_channel(
    site: SiteServer, tmp_path: Path
) -> None:
    """``check --json`` reports stable 150, beta 151 and WebGPU 150 from the listings."""
    done = run_cli(tmp_path, "check", "--base-url", site.base_url, "--json")
    assert done.returncode == 0, done.stderr
    releases = json.loads(done.stdout)["releases"]
    assert {r["channel"]: r["version"] for r in releases} == {
        "stable": 150,
        "beta": 151,
        "webgpu": 150,
    }
    assert all(r["present"] is False for r in releases)


def test_check_prints_how_to_fetch_what_is_new(site: SiteServer, tmp_path: Path) -> None:
    """The human output names each version and the command that fetches it."""
    done = run_cli(tmp_path, "check", "--channel", "beta", "--base-url", site.base_url)
    assert done.returncode == 0, done.stderr
    assert "beta    151" in done.stdout
    assert f"fetch --version 151 --channel beta --base-url {site.base_url}" in done.stdout


def test_fetched_notes_are_ready_for_process(site: SiteServer, tmp_path: Path) -> None:
    """``fetch --version 150`` writes the note, a second fetch skips it, ``process`` reads it."""
    done = run_cli(tmp_path, "fetch", "--version", "150", "--base-url", site.base_url, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["outcome"], result["path"]) == ("fetched", "release_notes/chrome-150.md")
    assert (tmp_path / ".monitoring" / "versions.json").is_file()
    again = run_cli(tmp_path, "fetch", "--version", "150", "--base-url", site.base_url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("present release_notes/chrome-150.md")
    assert "next: webplatform-digest process --version 150" in again.stdout
    assert len(site.requests_to("/release-notes/150")) == 1
    processed = run_cli(tmp_path, "process", "--version", "150", "--json")
    assert processed.returncode == 0, processed.stderr
    assert json.loads(processed.stdout)["features_total"] == 6


def test_fetch_without_a_version_takes_the_newest_beta(site: SiteServer, tmp_path: Path) -> None:
    """``fetch --channel beta`` finds 151 on the blog; ``process --channel beta`` reads it."""
    done = run_cli(tmp_path, "fetch", "--channel", "beta", "--base-url", site.base_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("fetched release_notes/chrome-151-beta.md (6 features")
    assert "process --version 151 --channel beta" in done.stdout
    processed = run_cli(tmp_path, "process", "--version", "151", "--channel", "beta", "--json")
    assert processed.returncode == 0, processed.stderr


def test_fetch_range_backfills_and_reports_missing_pages(site: SiteServer, tmp_path: Path) -> None:
    """A range fetches what exists; pages the site lacks are reported, not failures."""
    done = run_cli(tmp_path, "fetch", "--range", "149-151", "--base-url", site.base_url, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["counts"] == {
        "fetched": 1,
        "unchanged": 0,
        "present": 0,
        "not_found": 2,
        "failed": 0,
    }
    assert sorted(p.name for p in (tmp_path / "release_notes").iterdir()) == ["chrome-150.md"]


def test_a_missing_version_fails_cleanly_and_writes_nothing(
    site: SiteServer, tmp_path: Path
) -> None:
    """A 404 exits 1 with one line on stderr and writes no release note."""
    done = run_cli(tmp_path, "fetch", "--version", "152", "--base-url", site.base_url)
    assert done.returncode == 1
    assert done.stderr.startswith("webplatform-digest: ")
    assert "was not found (HTTP 404)" in done.stderr
    assert "Traceback" not in done.stderr
    # only the monitoring state (telemetry, the workspace lock) may appear, never a note
    assert [p.name for p in tmp_path.iterdir()] in ([], [".monitoring"])


def test_server_errors_are_retried_as_configured(site: SiteServer, tmp_path: Path) -> None:
    """``WEBPLATFORM_MAX_RETRIES=1``: two requests to a failing page, then exit 1."""
    site.routes["/release-notes/150"].fail_times = 100
    env = {"WEBPLATFORM_MAX_RETRIES": "1", "WEBPLATFORM_RETRY_BASE_DELAY": "0"}
    done = run_cli(tmp_path, "fetch", "--version", "150", "--base-url", site.base_url, env=env)
    assert done.returncode == 1
    assert "HTTP 500" in done.stderr
    assert "gave up after 2 attempts" in done.stderr
    assert len(site.requests_to("/release-notes/150")) == 2


def test_bad_arguments_exit_with_a_usage_error(tmp_path: Path) -> None:
    """A non-http base URL, or both --version and --range, exit 2 before any request."""
    bad_url = run_cli(tmp_path, "fetch", "--version", "150", "--base-url", "file:///etc")
    assert bad_url.returncode == 2
    assert "base URL" in bad_url.stderr
    both = run_cli(tmp_path, "fetch", "--version", "150", "--range", "140-150")
    assert both.returncode == 2
    assert "either --version or --range" in both.stderr


@pytest.mark.parametrize("output", [(), ("--json",)], ids=["text", "json"])
def test_check_exits_1_in_either_output_when_the_site_cannot_be_reached(
    tmp_path: Path, output: tuple[str, ...]
) -> None:
    """Nothing listens on the port: the workspace's own newest note is no answer from the site,
    so the exit says the check failed (text and JSON alike) and the text says why."""
    (tmp_path / "release_notes").mkdir()
    (tmp_path / "release_notes" / "chrome-144.md").write_text("# Chrome 144\n")
    env = {"WEBPLATFORM_MAX_RETRIES": "0", "WEBPLATFORM_RETRY_BASE_DELAY": "0"}
    base_url = f"http://127.0.0.1:{free_port()}"
    done = run_cli(
        tmp_path, "check", "--channel", "stable", "--base-url", base_url, *output, env=env
    )

    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    if output:
        assert json.loads(done.stdout)["releases"][0]["found_by"] == "workspace"
    else:
        assert "not confirmed by the site" in done.stdout
        assert "cannot reach 127.0.0.1" in done.stdout
