"""``init-site`` and ``update``: the site repository's workflow run for real, on loopback."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.fake_llm import running_fake_llm
from tests.server_process import clean_env
from tests.site_server import SiteServer, expected_pages, running_site

pytestmark = pytest.mark.slow


@pytest.fixture
def site() -> Iterator[SiteServer]:
    """The loopback developer site (stable 150, beta 151, WebGPU 150)."""
    with running_site() as server:
        for page in expected_pages():
            server.page(page.path, page.fixture)
        server.page("/release-notes", "release-notes-index.html")
        server.page("/blog", "blog-index.html")
        yield server


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "webplatform_digest", *args],
        capture_output=True, text=True, env=clean_env({}), cwd=cwd, timeout=60, check=False,
    )  # fmt: skip


def _workflow(directory: Path) -> dict[Any, Any]:
    text = (directory / ".github/workflows/update-site.yml").read_text(encoding="utf-8")
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded  # pyright: ignore[reportUnknownVariableType]


def test_init_site_writes_a_workflow_with_schedule_permissions_and_a_pages_deploy(
    tmp_path: Path,
) -> None:
    """The workflow parses and has what GitHub needs; the Jekyll config and README exist."""
    done = _cli("init-site", str(tmp_path / "repo"))
    assert done.returncode == 0, done.stderr
    repo = tmp_path / "repo"
    workflow = _workflow(repo)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"]
    assert workflow["permissions"]["pages"] == "write"
    assert workflow["permissions"]["id-token"] == "write"
    update, deploy = workflow["jobs"]["update"], workflow["jobs"]["deploy"]
    assert update["env"]["WEBPLATFORM_LLM_API_KEY"] == "${{ secrets.LLM_API_KEY }}"
    assert update["env"]["WEBPLATFORM_LLM_BASE_URL"] == "${{ secrets.LLM_BASE_URL }}"
    uses = [step.get("uses", "") for step in update["steps"]]
    assert any(u.startswith("actions/upload-pages-artifact") for u in uses)
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages")
    assert (repo / "digest_markdown/_config.yml").is_file()
    assert "LLM_API_KEY" in (repo / "README.md").read_text(encoding="utf-8")


def test_init_site_refuses_a_non_empty_directory_without_force(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    refused = _cli("init-site", str(tmp_path))
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"webplatform-digest: {tmp_path} is not empty; pass --force to write into it"
    )
    assert _cli("init-site", str(tmp_path), "--force").returncode == 0
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_the_workflow_update_step_updates_once_then_finds_nothing_new(
    site: SiteServer, tmp_path: Path
) -> None:
    """The workflow's own update script, with its secrets pointing at the loopback fake LLM:
    the first run fetches, digests and builds the site (exit 10 inside the script, which
    succeeds), the second finds nothing new (exit 0) and asks the LLM nothing."""
    repo = tmp_path / "repo"
    assert _cli("init-site", str(repo)).returncode == 0
    workflow = _workflow(repo)
    job = workflow["jobs"]["update"]
    script = next(step["run"] for step in job["steps"] if step.get("name") == "Update")
    with running_fake_llm() as fake:
        secrets = {"LLM_BASE_URL": fake.base_url, "LLM_API_KEY": "sk-test", "LLM_MODEL": "m"}
        env = {
            name: secrets[value.split("secrets.")[1].rstrip(" }")] if "secrets." in value else value
            for name, value in job["env"].items()
        }
        env |= {
            "WEBPLATFORM_MONITOR_BASE_URL": site.base_url,
            "WEBPLATFORM_RATE_LIMIT": "1000",
            "WEBPLATFORM_RATE_BURST": "100",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        first = subprocess.run(
            ["bash", "-e", "-c", script], cwd=repo, capture_output=True, text=True,
            env=clean_env(env), timeout=240, check=False,
        )  # fmt: skip
        assert first.returncode == 0, first.stderr
        summary = json.loads((repo / "update.json").read_text(encoding="utf-8"))
        assert summary["status"] == "updated"
        assert summary["processed"] == ["chrome-150", "chrome-151-beta"]
        assert all(run["status"] == "completed" for run in summary["runs"])
        assert summary["pages"]["pages"] > 0
        assert (repo / "digest_markdown/index.md").is_file()
        calls = len(fake.exchanges())
        again = subprocess.run(
            [sys.executable, "-m", "webplatform_digest", "update", "--root", ".", "--json"],
            cwd=repo, capture_output=True, text=True, env=clean_env(env), timeout=60, check=False,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert json.loads(again.stdout)["status"] == "nothing_new"
        assert len(fake.exchanges()) == calls
