"""Digest runs through the MCP server, both protocol eras, against the schedule limit.

The whole stack (FastMCP server, container, governor, write queue, telemetry hooks, registry)
runs in this process behind an in-memory client whose sampling handler simulates an LLM of
latency L = 100 ms. Chrome 144 from the corpus, C = 4, a high rate limit. The schedule limit of
2N chained requests (EN → ZH per area) on C slots is max(2L, ⌈2N/C⌉·L). The 2026-07-28 flow
may use larger batches when ⌈2N/C⌉ rounds would exceed the client's 10-round cap.
"""

import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import psutil
from fastmcp import Client
from mcp.types import CreateMessageResult, TextContent

from benchmarks.common import corpus_dir
from webplatform_digest.container import Container
from webplatform_digest.server import create_server
from webplatform_digest.settings import load_settings

LATENCY = 0.100
CONCURRENCY = 4
VERSION = 144


def _answer(prompt: str) -> str:
    from tests.digest_samples import answer_from_prompt

    return answer_from_prompt(prompt)


async def _sampler(messages: Any, params: Any, context: Any) -> CreateMessageResult:
    await anyio.sleep(LATENCY)
    return CreateMessageResult(
        role="assistant",
        content=TextContent(type="text", text=_answer(messages[-1].content.text)),
        model="simulated",
    )


def _seed(root: Path, corpus: Path) -> None:
    notes = root / "release_notes"
    notes.mkdir(parents=True)
    for name in (f"chrome-{VERSION}.md", f"webgpu-{VERSION}.md"):
        if (corpus / name).is_file():
            shutil.copy(corpus / name, notes / name)


async def _run(root: Path, mode: str) -> dict[str, Any]:
    settings = load_settings(
        root=root, max_concurrency=CONCURRENCY, rate_limit=1000.0, rate_burst=100
    )
    container = Container(settings)
    server = create_server(container)
    process = psutil.Process()
    async with Client(server, sampling_handler=_sampler, mode=mode) as client:
        processed = await client.call_tool("process_release_notes", {"version": VERSION})
        areas = len(processed.structured_content["areas"])  # type: ignore[index]
        rss_before = process.memory_info().rss
        started = time.perf_counter()
        result = await client.call_tool(
            "webplatform_digest", {"version": VERSION, "use_cache": False}
        )
        wall = time.perf_counter() - started
        rss_after = process.memory_info().rss
    container.close()
    summary = result.structured_content or {}
    limit = max(2 * LATENCY, math.ceil(2 * areas / CONCURRENCY) * LATENCY)
    return {
        "areas": areas,
        "llm_calls": summary.get("llm_calls"),
        "fallbacks": summary.get("fallbacks"),
        "wall_s": round(wall, 4),
        "limit_s": round(limit, 4),
        "wall_over_limit": round(wall / limit, 4),
        "overhead_per_call_ms": round(
            1000 * max(0.0, wall - limit) / max(1, summary.get("llm_calls") or 1), 3
        ),
        "rss_growth_mib": round((rss_after - rss_before) / 2**20, 2),
    }


def run() -> dict[str, Any]:
    """Figures for the back-channel (2025-11-25) and input-required (2026-07-28) eras."""
    corpus = corpus_dir()
    if corpus is None or not (corpus / f"chrome-{VERSION}.md").is_file():
        return {"skipped": "corpus not found"}
    figures: dict[str, Any] = {}
    for label, mode in (("back_channel", "legacy"), ("input_required", "auto")):
        best: dict[str, Any] | None = None
        for _ in range(3):  # best of three: the host is shared
            with tempfile.TemporaryDirectory(prefix="bench-mcp-") as tmp:
                root = Path(tmp)
                _seed(root, corpus)
                result = anyio.run(_run, root, mode)
            if best is None or result["wall_over_limit"] < best["wall_over_limit"]:
                best = result
        assert best is not None
        figures |= {f"{label}_{key}": value for key, value in best.items()}
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:<44} {value}")
