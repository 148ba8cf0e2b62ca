"""Cross-cutting fixtures: clean environment, workspace roots, the real corpus, tool gates."""

import os
import shutil
from pathlib import Path

import pytest

from tests.fakes import FakeClock
from webplatform_digest.settings import Settings, load_settings
from webplatform_digest.storage.workspace import Workspace

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus" / "release_notes"
SAMPLES_DIR = REPO_ROOT / "samples"
#: set by .ci/run: end-to-end tests fail instead of skipping when a component is missing
REQUIRE_E2E = os.environ.get("WEBPLATFORM_REQUIRE_E2E") == "1"
#: markers of tests allowed more than the unit-test timeout (``timeout`` in pyproject.toml)
SLOW_MARKERS = ("slow", "system", "e2e")
SLOW_TIMEOUT = 120


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give slow tests their longer bound, unless a test sets its own ``timeout`` marker."""
    for item in items:
        slow = any(item.get_closest_marker(name) for name in SLOW_MARKERS)
        if slow and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No WEBPLATFORM_* variable from the developer's shell or CI leaks into a test (CI's
    WEBPLATFORM_REQUIRE_E2E is read once at import, into REQUIRE_E2E)."""
    for name in list(os.environ):
        if name.startswith("WEBPLATFORM_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_clock() -> FakeClock:
    """A monotonic clock that only moves when a test (or a fake sleep) advances it."""
    return FakeClock()


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """An empty workspace root in a temporary directory."""
    root = tmp_path / "ws"
    root.mkdir()
    return Workspace.at(root)


@pytest.fixture
def settings(workspace: Workspace) -> Settings:
    """Settings rooted at the temporary workspace, with defaults otherwise."""
    return load_settings(root=workspace.root)


@pytest.fixture
def corpus_dir() -> Path:
    """The real release-note corpus (../shared/corpus/release_notes); skips where absent."""
    if not CORPUS_DIR.is_dir() or not any(CORPUS_DIR.glob("chrome-*.md")):
        pytest.skip(f"real release-note corpus not found at {CORPUS_DIR}")
    return CORPUS_DIR


def require_executable(name: str) -> str:
    """Path of an external tool; skip where absent, fail in CI (WEBPLATFORM_REQUIRE_E2E=1)."""
    found = shutil.which(name)
    if found:
        return found
    message = f"{name} is not installed"
    if REQUIRE_E2E:
        pytest.fail(message + " (required in CI: WEBPLATFORM_REQUIRE_E2E=1)")
    pytest.skip(message)


@pytest.fixture
def artifacts_dir() -> Path:
    """A directory for test artefacts (screenshots, reports) kept after the run."""
    path = REPO_ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
