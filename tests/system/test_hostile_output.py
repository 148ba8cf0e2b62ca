"""Hostile LLM output through the whole pipeline: digest → Jekyll site → HTML preview.

The fake LLM serves script tags, ``javascript:``/``data:`` links, event-handler attributes,
front matter, Liquid, path-like text and a 5 MB reply. Replies the digest checks refuse end as
retries or deterministic fallbacks; the ones they accept (code spans, Liquid, path text) reach
the digest files, and must come out of the site inert: escaped, link dropped, never a path.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastmcp import Client

from tests.fake_llm import (
    ACCEPTED_HOSTILE_KINDS,
    HOSTILE_KINDS,
    FakeLLM,
    FaultProfile,
    running_fake_llm,
)
from tests.server_process import ServerProcess, running_server
from tests.server_support import SAMPLE_VERSION, seed_samples
from tests.system.support import (
    check_digests,
    check_pages,
    digest_paths,
    files_outside_tree,
    llm_env,
    record_figures,
)

pytestmark = pytest.mark.system

#: text of refused kinds: never in a digest file
REFUSED_MARKERS = ("<script>alert('pwned')", "](javascript:", "](data:", "onerror=", "layout: evil")
#: active content: never in a generated page, whatever the kind
PAGE_MARKERS = ("<script", "javascript:", "data:text/html", "onerror")
#: Liquid: never in a page Jekyll renders (the static preview is not rendered by Jekyll)
LIQUID_MARKERS = ("{{ site.github", "{% include")
MAX_DIGEST_BYTES = 256 * 1024
_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    """A fake LLM cycling through every hostile kind."""
    with running_fake_llm(FaultProfile(hostile=HOSTILE_KINDS, seed=11)) as running:
        yield running


@pytest.fixture
def server(tmp_path: Path, fake: FakeLLM) -> Iterator[ServerProcess]:
    """An HTTP server over the samples whose LLM is the hostile fake."""
    seed_samples(tmp_path)
    with running_server(tmp_path, llm_env(fake, sampling_timeout=10)) as running:
        yield running


def _site_files(root: Path) -> list[Path]:
    """Generated pages: the Jekyll site (digest sources excluded: Jekyll skips them) and
    the HTML preview."""
    sources = set(digest_paths(root))
    jekyll = [p for p in (root / "digest_markdown").rglob("*") if p.is_file()]
    preview = [p for p in (root / "site").rglob("*") if p.is_file()]
    return [p for p in jekyll + preview if p not in sources]


def _page_problems(root: Path) -> list[str]:
    problems: list[str] = []
    for path in _site_files(root):
        text = path.read_text(encoding="utf-8")
        markers = PAGE_MARKERS + (LIQUID_MARKERS if "digest_markdown" in path.parts else ())
        problems += [f"{path}: {m!r}" for m in markers if m in text]
        front = _FRONT.match(text) if path.suffix == ".md" else None
        if front is not None:
            layout = (yaml.safe_load(front.group(1)) or {}).get("layout")
            if layout not in (None, "default", "digest"):
                problems.append(f"{path}: layout {layout!r}")
    return problems


def _digest_problems(root: Path) -> list[str]:
    problems: list[str] = []
    for path in digest_paths(root):
        data = path.read_bytes()
        if len(data) > MAX_DIGEST_BYTES:
            problems.append(f"{path}: {len(data)} bytes")
        text = data.decode("utf-8")
        problems += [f"{path}: {m!r}" for m in REFUSED_MARKERS if m in text]
    return problems


def _no_path_from_output(root: Path, before: set[Path]) -> list[str]:
    outside = [str(p) for p in files_outside_tree(root, before)]
    named = [str(p) for p in root.rglob("*") if p.name in ("passwd", "shadow")]
    return outside + named


async def _run_and_build(client: Client[Any]) -> dict[str, Any]:
    result = await client.call_tool(
        "webplatform_digest", {"version": SAMPLE_VERSION, "use_cache": False}
    )
    await client.call_tool("generate_github_pages", {"html": True})
    summary = result.structured_content
    assert summary is not None
    return summary


async def test_hostile_replies_are_refused_or_rendered_inert_and_never_become_paths(
    server: ServerProcess, fake: FakeLLM
) -> None:
    """Every area gets a digest; refused kinds never reach a file; accepted kinds reach the
    digests but no page carries active content; the 5 MB reply is refused; no file appears
    outside the workspace layout."""
    root = server.root
    before = {p for p in root.rglob("*") if p.is_file()}
    async with Client(server.mcp_url) as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        every_kind = await _run_and_build(client)
        first_pages = _page_problems(root)
        first_digests = _digest_problems(root)
        fake.configure(hostile=ACCEPTED_HOSTILE_KINDS)
        accepted = await _run_and_build(client)

    served = fake.outcomes()
    assert {f"hostile:{kind}" for kind in HOSTILE_KINDS} <= set(served)
    for summary in (every_kind, accepted):
        statuses = {s for row in summary["areas"].values() for s in row.values()}
        assert statuses <= {"ok", "retried", "fallback"}, summary["areas"]
    assert every_kind["fallbacks"] > 0  # refused kinds did cost digests their LLM text
    sources = "\n".join(p.read_text(encoding="utf-8") for p in digest_paths(root))
    assert "{{ site.github.api_key }}" in sources  # the hostile text did reach the pipeline
    assert "`<script>alert('code')</script>`" in sources
    preview = "\n".join(p.read_text(encoding="utf-8") for p in (root / "site").rglob("*.html"))
    assert "&lt;script&gt;alert(" in preview  # ... and came out escaped
    assert first_pages == []
    assert first_digests == []
    assert _page_problems(root) == []
    assert _digest_problems(root) == []
    assert check_digests(root) == []
    assert check_pages(root) == []
    assert _no_path_from_output(root, before) == []
    assert server.terminate(timeout=10) == 0
    assert "Traceback" not in server.log()
    record_figures(
        "hostile_output",
        {
            "served": dict(served),
            "fallbacks": [every_kind["fallbacks"], accepted["fallbacks"]],
            "largest_digest_bytes": max(p.stat().st_size for p in digest_paths(root)),
            "site_files_checked": len(_site_files(root)),
        },
    )
