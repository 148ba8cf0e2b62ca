"""Shared benchmark helpers: the corpus location, percentiles, peak RSS, a fresh process."""

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = REPO_ROOT.parent / "shared" / "corpus" / "release_notes"


def corpus_dir() -> Path | None:
    """The real corpus (``../shared/corpus`` of the repository or, for a worktree one or two
    folders deeper, further up), or None where absent (sections then report a skip)."""
    for parent in REPO_ROOT.parents[:3]:
        candidate = parent / "shared" / "corpus" / "release_notes"
        if candidate.is_dir():
            return candidate
    return None


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[max(0, min(98, int(q) - 1))]


def peak_rss_mib() -> float:
    """Peak resident set size of this process in MiB (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_fresh_process(module: str, *args: str, timeout: float = 300) -> dict[str, Any]:
    """The JSON figures ``python -m <module> <args>`` prints last, run in a fresh interpreter
    (no cache warm, nothing imported) without this shell's ``WEBPLATFORM_*`` variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBPLATFORM_")}
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return figures


def copy_notes(corpus: Path, root: Path, versions: Iterable[int]) -> None:
    """The corpus notes of ``versions`` (Chrome, and WebGPU where the corpus has it) into the
    workspace ``root``'s ``release_notes/``."""
    notes = root / "release_notes"
    notes.mkdir(parents=True, exist_ok=True)
    for version in versions:
        for name in (f"chrome-{version}.md", f"webgpu-{version}.md"):
            if (corpus / name).is_file():
                shutil.copy(corpus / name, notes / name)
