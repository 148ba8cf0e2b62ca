"""Shared pieces of the system tests: fake-LLM settings, metrics scrapes, workspace checks.

Server subprocesses come from ``tests.server_process``.
"""

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import anyio
import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.fake_llm import FakeLLM
from tests.server_process import ServerProcess
from webplatform_digest.digest.files import parse_digest_file, render_digest_file
from webplatform_digest.models import AreaDigest, Channel, DigestStatus, Language, ReleaseKey
from webplatform_digest.storage.commit import TEMP_PREFIX, TEMP_SUFFIX, atomic_write
from webplatform_digest.storage.workspace import Workspace

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "system"
#: everything a server may create in a workspace (top-level names)
WORKSPACE_TREE = frozenset(
    {
        "release_notes",
        "processed",
        "digest_markdown",
        "site",
        ".monitoring",
        "focus_areas",
        "server-stderr.log",
    }
)

Metrics = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def record_figures(name: str, figures: Mapping[str, Any]) -> None:
    """Keep a test's measured figures in ``test-artifacts/system/<name>.json`` (for the docs)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(dict(figures), indent=1, sort_keys=True, default=str)
    (ARTIFACTS / f"{name}.json").write_text(text + "\n", encoding="utf-8")


def llm_env(fake: FakeLLM, **settings: object) -> dict[str, str]:
    """Settings for a server whose LLM is ``fake`` (openai backend, fast limits by default)."""
    values: dict[str, object] = {
        "LLM_BACKEND": "openai",
        "LLM_BASE_URL": fake.base_url,
        "LLM_MODEL": "fake-model",
        "RATE_LIMIT": 1000,
        "RATE_BURST": 100,
        "MAX_CONCURRENCY": 4,
        "SAMPLING_TIMEOUT": 1.0,
        "MAX_RETRIES": 2,
        "RETRY_BASE_DELAY": 0.02,
        "RETRY_MAX_DELAY": 0.2,
        "CIRCUIT_THRESHOLD": 5,
        "FAILURE_COOLDOWN": 0.5,
        "PROGRESS_MIN_INTERVAL": 0.05,
        "LOG_LEVEL": "INFO",
    } | settings
    return {f"WEBPLATFORM_{key.upper()}": str(value) for key, value in values.items()}


def scrape(url: str) -> Metrics:
    """Every sample of ``/metrics`` keyed by (sample name, sorted labels)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    samples: Metrics = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def flush_telemetry(server: ServerProcess) -> None:
    """Make the server write every event so far to its JSONL file (``/metrics/summary`` does)."""
    httpx.get(f"{server.url}/metrics/summary", timeout=30).raise_for_status()


async def wait_for_metrics(url: str, predicate: Callable[[Metrics], bool], timeout: float) -> None:
    """Scrape ``/metrics`` until ``predicate`` holds (another process: nothing to await).

    Raises:
        TimeoutError: it did not hold within ``timeout`` seconds.
    """
    with anyio.fail_after(timeout):
        while not predicate(await anyio.to_thread.run_sync(scrape, url)):  # noqa: ASYNC110
            await anyio.sleep(0.02)


def metric(samples: Metrics, name: str, **labels: str) -> float:
    """One sample's value (0 when absent)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def seed_digests(root: Path, versions: Iterable[int], areas: Iterable[str]) -> int:
    """Write made-up digests of several releases (a big site); returns the number of files."""
    workspace = Workspace.at(root)
    count = 0
    for version in versions:
        for area in areas:
            for language in (Language.EN, Language.ZH):
                digest = AreaDigest(
                    area=area,
                    version=version,
                    channel=Channel.STABLE,
                    language=language,
                    markdown=f"## Widget {version}\n\nA made-up change to {area}.\n",
                    status=DigestStatus.OK,
                    backend="offline",
                    title=f"{area} — Chrome {version}",
                    generated_at="2026-01-01T00:00:00Z",
                )
                rel = Workspace.digest_rel(area, ReleaseKey(version, Channel.STABLE), language)
                atomic_write(workspace.path(rel), render_digest_file(digest))
                count += 1
    return count


def temp_leftovers(root: Path) -> list[Path]:
    """Temp files of interrupted commits anywhere under ``root``."""
    return [p for p in root.rglob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}") if p.is_file()]


def digest_paths(root: Path) -> list[Path]:
    """Every digest file of the workspace."""
    return sorted((root / "digest_markdown" / "areas").glob("*/chrome-*.md"))


def check_digests(root: Path) -> list[str]:
    """Problems with the digest files: each must parse (front matter and a body)."""
    problems: list[str] = []
    for path in digest_paths(root):
        try:
            digest = parse_digest_file(path.read_bytes(), source=str(path))
        except Exception as exc:  # noqa: BLE001 - collecting every problem for the report
            problems.append(f"{path}: {exc}")
            continue
        if not digest.markdown.strip():
            problems.append(f"{path}: empty body")
    return problems


def check_pages(root: Path) -> list[str]:
    """Problems with the site: the manifest parses and every file it lists has its hash."""
    import hashlib

    manifest = root / "digest_markdown" / ".pages-manifest.json"
    if not manifest.exists():
        return []
    try:
        files: dict[str, str] = json.loads(manifest.read_bytes())["files"]
    except (ValueError, KeyError) as exc:
        return [f"manifest unreadable: {exc}"]
    problems: list[str] = []
    for rel, digest in files.items():
        path = root / rel
        if not path.is_file():
            problems.append(f"{rel}: listed in the manifest but missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems.append(f"{rel}: content differs from the manifest")
    problems += _check_page_front_matter(root, files)
    return problems


def _check_page_front_matter(root: Path, files: Iterable[str]) -> list[str]:
    problems: list[str] = []
    for rel in files:
        if not rel.endswith(".md"):
            continue
        text = (root / rel).read_text(encoding="utf-8")
        if not text.startswith("---\n") or "\n---\n" not in text[3:]:
            problems.append(f"{rel}: no closed front matter")
            continue
        try:
            front: Any = yaml.safe_load(text[4 : text.index("\n---\n", 3)])
        except yaml.YAMLError as exc:
            problems.append(f"{rel}: front matter is not YAML: {exc}")
            continue
        if not isinstance(front, dict):
            problems.append(f"{rel}: front matter is not a mapping")
    return problems


def files_outside_tree(root: Path, before: set[Path]) -> list[Path]:
    """Files created under ``root`` outside the workspace layout (``before``: pre-existing)."""
    return [
        path
        for path in root.rglob("*")
        if path.is_file()
        and path not in before
        and path.relative_to(root).parts[0] not in WORKSPACE_TREE
    ]
