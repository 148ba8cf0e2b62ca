"""JSONL telemetry: line format, sequence numbers, rotation, drops, and corrupt-line tolerance."""

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from tests.fakes import FakeClock
from tests.telemetry.run_events import simulated_run_events
from webplatform_digest import events as catalogue
from webplatform_digest.clock import Clock, wall_time
from webplatform_digest.events import (
    ConcurrencyChanged,
    Event,
    Telemetry,
    ToolCalled,
    WriteQueueDepth,
)
from webplatform_digest.settings import load_settings
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.telemetry.jsonl import (
    GAUGE_SAMPLES,
    QUEUE_SIZE,
    JsonlHook,
    read_events,
    rotated_path,
    telemetry_files,
    telemetry_path,
)

AREAS = ("css", "javascript", "webgpu", "security", "performance")
REPO_ROOT = Path(__file__).resolve().parents[2]


def _tool(i: int) -> ToolCalled:
    return ToolCalled(tool="list_focus_areas", outcome="ok", seconds=i / 1000)


def _hook(
    path: Path,
    *,
    max_bytes: int = 10 * 1024 * 1024,
    backups: int = 3,
    trace_id: str | None = None,
    wall: Clock = wall_time,
    queue_size: int = QUEUE_SIZE,
) -> JsonlHook:
    return JsonlHook(
        path,
        max_bytes=max_bytes,
        backups=backups,
        trace_id=trace_id,
        wall=wall,
        queue_size=queue_size,
    )


def test_every_event_becomes_one_line_with_timestamp_run_trace_sequence_and_type(
    workspace: Workspace,
) -> None:
    """Each line carries ts (wall), seq, trace_id, run_id, type and the event's fields."""
    path = telemetry_path(workspace)
    events = [e for e in simulated_run_events("run-7", AREAS) if type(e) not in GAUGE_SAMPLES]
    with _hook(path, trace_id="trace-a", wall=FakeClock(1_700_000_000.0)) as hook:
        telemetry = Telemetry((hook,))
        for event in events:
            telemetry.emit(event)
    records, corrupt = read_events([path])
    assert corrupt == 0
    assert len(records) == len(events)
    assert [r["seq"] for r in records] == list(range(1, len(events) + 1))
    assert {r["trace_id"] for r in records} == {"trace-a"}
    assert all(r["ts"] == 1_700_000_000.0 for r in records)
    assert [r["type"] for r in records] == [type(e).__name__ for e in events]
    first_attempt = next(r for r in records if r["type"] == "LLMAttempt")
    assert first_attempt["run_id"] == "run-7"
    assert first_attempt["area"] == "css"
    started = next(r for r in records if r["type"] == "RunStarted")
    assert started["areas"] == list(AREAS)


def test_gauge_samples_are_left_to_the_metrics_unless_asked_for(tmp_path: Path) -> None:
    """ConcurrencyChanged and WriteQueueDepth are skipped by default, logged with skip=()."""
    gauges: list[Event] = [ConcurrencyChanged(in_flight=1, limit=4), WriteQueueDepth(depth=2)]
    with (
        _hook(tmp_path / "default.jsonl") as default,
        JsonlHook(
            tmp_path / "all.jsonl", max_bytes=1 << 20, backups=0, skip=frozenset()
        ) as everything,
    ):
        for event in [*gauges, _tool(1)]:
            default.handle(event)
            everything.handle(event)
    assert [r["type"] for r in read_events([tmp_path / "default.jsonl"])[0]] == ["ToolCalled"]
    assert [r["type"] for r in read_events([tmp_path / "all.jsonl"])[0]] == [
        "ConcurrencyChanged",
        "WriteQueueDepth",
        "ToolCalled",
    ]


def test_flush_makes_every_handled_event_readable(tmp_path: Path) -> None:
    """After flush() the file holds every event handled before it; the hook keeps running."""
    path = tmp_path / "t.jsonl"
    hook = _hook(path)
    try:
        for i in range(50):
            hook.handle(_tool(i))
        assert hook.flush()
        assert len(read_events([path])[0]) == 50
        hook.handle(_tool(50))
        assert hook.flush()
        assert len(read_events([path])[0]) == 51
    finally:
        hook.close()


def test_rotation_keeps_the_configured_number_of_backups_under_the_size_limit(
    tmp_path: Path,
) -> None:
    """Files never exceed max_bytes; only `backups` old files remain; the newest events survive."""
    path = tmp_path / "telemetry.jsonl"
    with _hook(path, max_bytes=4096, backups=2) as hook:
        for i in range(2000):
            hook.handle(_tool(i))
    files = telemetry_files(path)
    assert files == [rotated_path(path, 2), rotated_path(path, 1), path]
    assert all(p.stat().st_size <= 4096 for p in files)
    records, corrupt = read_events(files)
    assert corrupt == 0
    seqs = [r["seq"] for r in records]
    assert seqs == list(range(seqs[0], 2001))  # contiguous up to the last event, oldest dropped
    assert seqs[0] > 1


def test_zero_backups_keeps_only_the_current_file(tmp_path: Path) -> None:
    """With telemetry_backups = 0 a full file is replaced, never renamed to a backup."""
    path = tmp_path / "telemetry.jsonl"
    with _hook(path, max_bytes=4096, backups=0) as hook:
        for i in range(500):
            hook.handle(_tool(i))
    assert telemetry_files(path) == [path]
    assert path.stat().st_size <= 4096
    assert read_events([path])[0][-1]["seq"] == 500


def test_handle_never_blocks_when_the_writer_is_stuck_and_drops_are_recorded(
    tmp_path: Path,
) -> None:
    """A stalled writer (a FIFO nobody reads) fills the bounded queue: handle() drops and counts;
    once the writer drains, the count is written as an EventsDropped record."""
    fifo = tmp_path / "telemetry.jsonl"
    os.mkfifo(fifo)
    hook = _hook(fifo, queue_size=10)
    for i in range(5000):  # would hang here if handle() blocked on a full queue
        hook.handle(_tool(i))
    assert hook.dropped > 0
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(fifo.read_bytes()), daemon=True)
    reader.start()
    hook.close(timeout=10)
    reader.join(10)
    lines = [orjson.loads(line) for line in b"".join(chunks).splitlines() if line]
    drop_records = [r for r in lines if r["type"] == "EventsDropped"]
    assert sum(r["count"] for r in drop_records) == hook.dropped
    assert len(lines) - len(drop_records) + hook.dropped == 5000


def test_an_unencodable_event_is_skipped_and_the_writer_keeps_going(tmp_path: Path) -> None:
    """A field orjson cannot encode (an integer past 64 bits) costs that event only."""
    path = tmp_path / "t.jsonl"
    with _hook(path) as hook:
        hook.handle(ToolCalled(tool="list_focus_areas", outcome="ok", seconds=2**70))
        hook.handle(_tool(1))
    records, corrupt = read_events([path])
    assert [r["seq"] for r in records] == [1]
    assert corrupt == 0


def test_events_after_close_are_dropped_and_counted(tmp_path: Path) -> None:
    """A closed hook ignores events (counting them) instead of raising or reopening the file."""
    hook = _hook(tmp_path / "t.jsonl")
    hook.close()
    hook.close()
    hook.handle(_tool(1))
    assert hook.dropped == 1
    assert not hook.flush()


def test_reader_skips_corrupt_lines_anywhere_and_counts_them(tmp_path: Path) -> None:
    """Torn, glued, binary, non-object and incomplete records are skipped wherever they are."""
    good = [orjson.dumps({"ts": 1.0 + i, "seq": i, "type": "ToolCalled"}) for i in range(4)]
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                good[0],
                b'{"ts": 2.0, "seq": 9, "type": "Tool',  # torn mid-file
                good[1] + good[1],  # two records glued together
                b"\x00\x00\x00\x00",  # zero-filled block after a crash
                b"\xff\xfe not utf-8",
                b"[1, 2, 3]",  # JSON, but not an object
                b'{"seq": 3, "type": "ToolCalled"}',  # no timestamp
                b"",  # blank lines are not corrupt
                good[2],
                good[3][:-5],  # partial trailing line
            ]
        )
    )
    records, corrupt = read_events([path])
    assert [r["seq"] for r in records] == [0, 2]
    assert corrupt == 7


def test_reader_filters_by_time_and_skips_missing_files(tmp_path: Path) -> None:
    """`since` keeps events at or after it; a file rotated away meanwhile is simply skipped."""
    path = tmp_path / "t.jsonl"
    path.write_bytes(
        b"".join(orjson.dumps({"ts": t, "seq": t, "type": "X"}) + b"\n" for t in (10, 20, 30))
    )
    records, corrupt = read_events([tmp_path / "gone.jsonl", path], since=20)
    assert [r["ts"] for r in records] == [20, 30]
    assert corrupt == 0


def test_a_writer_restarted_after_a_torn_line_loses_only_that_line(tmp_path: Path) -> None:
    """The new writer terminates the torn tail first, so its own first record is intact."""
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{"ts": 1.0, "seq": 1, "type": "ToolCalled"}\n{"ts": 2.0, "seq": 2, "ty')
    with _hook(path, trace_id="restart") as hook:
        for i in range(3):
            hook.handle(_tool(i))
    records, corrupt = read_events([path])
    assert corrupt == 1
    assert [r["seq"] for r in records if r.get("trace_id") == "restart"] == [1, 2, 3]


_CHILD = """
import sys
from pathlib import Path
from webplatform_digest.events import ToolCalled
from webplatform_digest.telemetry.jsonl import JsonlHook

hook = JsonlHook(Path(sys.argv[1]), max_bytes=1 << 30, backups=1, trace_id=sys.argv[2])
i = 0
while True:
    for _ in range(500):
        i += 1
        hook.handle(ToolCalled(tool="list_focus_areas", outcome="ok", seconds=i / 1e6))
    if i == 2000:
        hook.flush()
        sys.stdout.write("ready\\n")
        sys.stdout.flush()
"""


def _killed_writer(path: Path, trace_id: str) -> None:
    """Start a writer, wait until it is appending past its first flush, then SIGKILL it."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), trace_id],
        stdout=subprocess.PIPE,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "src")},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"ready\n"
        _wait_for_growth(path, path.stat().st_size)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()


def _wait_for_growth(path: Path, size: int, timeout: float = 20.0) -> None:
    """Poll until the writer has appended more (so the kill lands while it is busy writing)."""
    deadline = time.monotonic() + timeout
    while path.stat().st_size <= size:
        assert time.monotonic() < deadline, "the writer stopped appending"
        time.sleep(0.0005)


@pytest.mark.system
def test_readers_recover_after_writers_are_sigkilled_mid_write(tmp_path: Path) -> None:
    """Three writers killed while logging hard, then a clean one: at most one corrupt line per
    killed writer, every record of each writer in order, the clean writer's records complete."""
    path = tmp_path / "telemetry.jsonl"
    for n in range(3):
        _killed_writer(path, f"killed-{n}")
    with _hook(path, trace_id="clean") as hook:
        for i in range(100):
            hook.handle(_tool(i))
    records, corrupt = read_events(telemetry_files(path))
    assert corrupt <= 3
    for n in range(3):
        seqs = [r["seq"] for r in records if r["trace_id"] == f"killed-{n}"]
        assert len(seqs) >= 2000
        assert seqs == list(range(1, len(seqs) + 1))
    assert [r["seq"] for r in records if r["trace_id"] == "clean"] == list(range(1, 101))


def test_no_event_type_has_a_field_that_could_hold_a_secret() -> None:
    """The event catalogue carries no credential-like field, so JSONL can never leak one."""
    suspicious = ("key", "token", "secret", "password", "authorization", "credential", "cookie")
    event_types = [
        value
        for value in vars(catalogue).values()
        if isinstance(value, type) and issubclass(value, Event)
    ]
    assert len(event_types) >= 15
    for kind in event_types:
        for field in dataclasses.fields(kind):
            assert not any(word in field.name.lower() for word in suspicious), (kind, field.name)


def test_a_recorded_run_does_not_contain_configured_secrets(workspace: Workspace) -> None:
    """With an API key and an HTTP token configured, neither appears in the telemetry file."""
    settings = load_settings(
        root=workspace.root, llm_api_key="sk-live-abc123XYZ", http_token="tok-98765-secret"
    )
    path = telemetry_path(Workspace.at(settings.workspace.root))
    with _hook(path) as hook:
        for event in simulated_run_events("run-s", AREAS):
            hook.handle(event)
    data = path.read_bytes()
    assert len(data) > 1000
    assert b"sk-live-abc123XYZ" not in data
    assert b"tok-98765-secret" not in data
