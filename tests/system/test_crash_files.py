"""The telemetry log, the progress file and the run registry when the server is SIGKILLed.

A server subprocess is killed (-9) three times in the middle of a digest run, at different
points. After each kill the readers must recover: ``read_events`` skips and counts corrupt
lines (at most one torn line per killed process), ``read_progress`` returns the last complete
document or None, every digest file parses. The next start sweeps temp files and marks the
killed runs interrupted. The log's last line is then torn by hand (what a short write cut by a
kill leaves); a full run afterwards must start on a line of its own after it.
"""

from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastmcp import Client

from tests.fake_llm import FakeLLM, FaultProfile, running_fake_llm
from tests.server_process import ServerProcess, running_server
from tests.server_support import SAMPLE_VERSION, seed_samples
from tests.system.support import (
    check_digests,
    llm_env,
    record_figures,
    temp_leftovers,
)
from webplatform_digest.runs.registry import RunRegistry, RunStatus
from webplatform_digest.telemetry.jsonl import read_events, telemetry_files
from webplatform_digest.telemetry.progress import read_progress

pytestmark = pytest.mark.system

#: LLM requests seen before each kill (a different point of the run each time)
KILL_AFTER = (3, 11, 19)


async def _digest_until_killed(server: ServerProcess, out: list[Any]) -> None:
    try:
        async with Client(server.mcp_url) as client:
            await client.list_tools()
            out.append(
                await client.call_tool_mcp(
                    "webplatform_digest", {"version": SAMPLE_VERSION, "use_cache": False}
                )
            )
    except Exception as exc:  # noqa: BLE001 - the server dying under the call is the scenario
        out.append(exc)


def _events(root: Path) -> tuple[list[dict[str, Any]], int]:
    return read_events(telemetry_files(root / ".monitoring" / "telemetry.jsonl"))


def _seq_problems(events: list[dict[str, Any]]) -> list[str]:
    """Per process (trace id), sequence numbers strictly increase."""
    last: dict[str, int] = defaultdict(int)
    problems: list[str] = []
    for event in events:
        trace, seq = event["trace_id"], event["seq"]
        if seq <= last[trace]:
            problems.append(f"{trace}: seq {seq} after {last[trace]}")
        last[trace] = seq
    return problems


def _progress_ok(root: Path, run_ids: set[str]) -> bool:
    document = read_progress(root / ".monitoring" / "progress.json")
    if document is None:
        return True
    return document["run_id"] in run_ids and 0 <= document["completed"] <= document["total"]


def _runs(root: Path) -> dict[str, RunStatus]:
    registry = RunRegistry(root / ".monitoring" / "runs.sqlite3")
    try:
        return {r.run_id: r.status for r in registry.list_runs()}
    finally:
        registry.close()


async def _kill_mid_run(root: Path, fake: FakeLLM, after: int) -> None:
    out: list[Any] = []
    with running_server(root, llm_env(fake, progress_min_interval=0)) as server:
        async with anyio.create_task_group() as group:
            group.start_soon(_digest_until_killed, server, out)
            start = fake.count
            await fake.until(lambda f: f.count >= start + after, timeout=30)
            server.kill()
    assert out
    assert isinstance(out[0], Exception)  # the call never completed


def _tear_last_line(path: Path) -> int:
    """Cut the file in the middle of its last line, as a write cut short by a kill leaves it
    (Linux may return a short write when a fatal signal is pending). Returns lines torn."""
    data = path.read_bytes()
    start = data.rstrip(b"\n").rfind(b"\n") + 1
    if len(data) - start < 4:
        return 0
    path.write_bytes(data[: start + (len(data) - start) // 2])
    return 1


async def test_readers_recover_after_sigkill_and_the_next_start_cleans_up(tmp_path: Path) -> None:
    """Corrupt lines ≤ kills and skipped; progress readable or None; digests parse; after a
    restart: no temp file, killed runs interrupted, a new run completes and logs cleanly."""
    root = tmp_path
    seed_samples(root)
    figures: dict[str, Any] = {"after_kill": []}
    with running_fake_llm(FaultProfile(latency_ms=(20, 80), seed=9)) as fake:
        with running_server(root, llm_env(fake)) as first:
            async with Client(first.mcp_url) as client:
                await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
            assert first.terminate(timeout=10) == 0
        with anyio.fail_after(120):
            for kills, after in enumerate(KILL_AFTER, start=1):
                await _kill_mid_run(root, fake, after)
                events, corrupt = _events(root)
                assert corrupt <= kills
                assert events
                assert _seq_problems(events) == []
                assert _progress_ok(root, set(_runs(root)))
                assert check_digests(root) == []
                figures["after_kill"].append(
                    {"events": len(events), "corrupt": corrupt, "temps": len(temp_leftovers(root))}
                )
            torn = _tear_last_line(root / ".monitoring" / "telemetry.jsonl")
            with running_server(root, llm_env(fake), log_name="final-stderr.log") as final:
                async with Client(final.mcp_url) as client:
                    result = await client.call_tool(
                        "webplatform_digest", {"version": SAMPLE_VERSION}
                    )
                assert final.terminate(timeout=10) == 0
            leftovers = temp_leftovers(root)  # swept at start; none made since survives a stop
    summary = result.structured_content
    assert summary is not None
    runs = _runs(root)
    killed = [status for run_id, status in runs.items() if run_id != summary["run_id"]]
    events, corrupt = _events(root)
    progress = read_progress(root / ".monitoring" / "progress.json")
    assert leftovers == []
    assert killed == [RunStatus.INTERRUPTED] * len(KILL_AFTER)
    assert runs[summary["run_id"]] is RunStatus.COMPLETED
    assert torn <= corrupt <= torn + len(KILL_AFTER)
    assert _seq_problems(events) == []
    final_trace = {e["trace_id"] for e in events if e.get("run_id") == summary["run_id"]}
    assert len(final_trace) == 1
    first_seqs = [e["seq"] for e in events if e["trace_id"] in final_trace][:1]
    assert first_seqs == [1]  # the line after the torn one was not glued to it
    assert any(e["type"] == "RunFinished" and e["run_id"] == summary["run_id"] for e in events)
    assert progress is not None
    assert progress["run_id"] == summary["run_id"]
    assert progress["status"] == "completed"
    assert check_digests(root) == []
    figures["final"] = {"events": len(events), "corrupt": corrupt, "torn_by_the_test": torn}
    record_figures("crash_files", figures)
