"""Hiccups at the start of a run cost time, not digests (default governor settings).

A real ``webplatform-digest run`` subprocess with the OpenAI-compatible backend pointed at the
loopback fake LLM, every ``WEBPLATFORM_*`` governor setting at its default (concurrency 4,
2 requests/s, breaker threshold 3 and cooldown 5 s, 2 retries). Three areas, so the first three
requests are three different calls and all of them wait on the breaker. Two hiccups: the first
3 requests answer HTTP 500; every answer within 6 s of the first request answers HTTP 503.
Either way every area must end with a model-written digest (0 fallbacks).
"""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.digest_samples import subject, write_processed
from tests.fake_llm import FakeLLM, FaultProfile, running_fake_llm
from tests.server_process import clean_env
from tests.system.support import record_figures
from webplatform_digest.digest.files import parse_digest_file
from webplatform_digest.storage.workspace import Workspace

pytestmark = pytest.mark.system

AREAS = {
    "css": ["Caret shapes", "Highlight pseudos"],
    "javascript": ["Iterator helpers", "Float16 arrays"],
    "security-privacy": ["Storage partitioning"],
}
HICCUPS = {
    "first_3_http_500": FaultProfile(fail_first=3, fail_status=500),
    "http_503_for_6_s": FaultProfile(fail_window=6.0, fail_status=503),
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace whose Chrome 144 data has three areas with features."""
    workspace = Workspace.at(tmp_path)
    write_processed(workspace, tuple(subject(area, titles) for area, titles in AREAS.items()))
    return tmp_path


@pytest.fixture(params=sorted(HICCUPS))
def hiccup(request: pytest.FixtureRequest) -> Iterator[tuple[str, FakeLLM]]:
    """The fake LLM with one hiccup profile."""
    with running_fake_llm(HICCUPS[request.param]) as fake:
        yield request.param, fake


def _run(root: Path, fake: FakeLLM) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "webplatform_digest", "run", "--root", str(root),
         "--version", "144", "--llm", "openai", "--llm-base-url", fake.base_url,
         "--llm-model", "fake-model", "--json"],
        capture_output=True, text=True, encoding="utf-8", env=clean_env({}), timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), time.monotonic() - started


def test_a_hiccup_at_the_start_of_a_run_costs_no_digest(
    root: Path, hiccup: tuple[str, FakeLLM]
) -> None:
    """Every area of both languages is written by the model; the hiccup was really served."""
    name, fake = hiccup
    summary, seconds = _run(root, fake)
    statuses = {(a, lang): s for a, row in summary["areas"].items() for lang, s in row.items()}
    record_figures(
        f"hiccups-{name}",
        {
            "fallbacks": summary["fallbacks"],
            "areas": summary["areas"],
            "llm_requests": fake.count,
            "fake_outcomes": dict(fake.outcomes()),
            "wall_seconds": round(seconds, 2),
        },
    )
    assert fake.outcomes()["hiccup"] >= 3
    assert summary["fallbacks"] == 0, summary["areas"]
    assert set(statuses.values()) <= {"ok", "retried"}, summary["areas"]
    assert len(statuses) == 2 * len(AREAS)
    for area in AREAS:
        for lang in ("en", "zh"):
            path = root / "digest_markdown" / "areas" / area / f"chrome-144-{lang}.md"
            digest = parse_digest_file(path.read_bytes())
            assert digest.backend == "openai", (area, lang)
            assert digest.status.value in {"ok", "retried"}, (area, lang)
