"""The progress file: throttled on the injected clock, final state always written, atomic."""

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from tests.fakes import FakeClock
from webplatform_digest.errors import WriteError
from webplatform_digest.events import (
    Event,
    ProgressWritten,
    RecordingHook,
    RunFinished,
    RunProgress,
    RunStarted,
    StageFinished,
    Telemetry,
)
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.telemetry.progress import ProgressFileHook, progress_path, read_progress
from webplatform_digest.telemetry.prometheus import PrometheusHook

START = RunStarted(
    run_id="run-1",
    version=144,
    channel="stable",
    areas=("css", "webgpu"),
    languages=("en", "zh"),
    backend="openai",
)


def _stage(area: str, stage: str, language: str, outcome: str = "ok") -> StageFinished:
    return StageFinished(
        run_id="run-1", area=area, stage=stage, language=language, outcome=outcome, seconds=1.0
    )


HookFactory = Callable[..., tuple[ProgressFileHook, Telemetry]]


@pytest.fixture
def make_hook() -> Iterator[HookFactory]:
    """Builds progress hooks wired to a Telemetry (with an optional recorder); closes them."""
    hooks: list[ProgressFileHook] = []

    def build(
        path: Path, clock: FakeClock, recorder: RecordingHook | None = None
    ) -> tuple[ProgressFileHook, Telemetry]:
        telemetry = Telemetry((recorder,) if recorder else ())
        hook = ProgressFileHook(
            path, min_interval=0.5, clock=clock, emit=telemetry.emit, now_iso=lambda: "T"
        )
        telemetry.add(hook)
        hooks.append(hook)
        return hook, telemetry

    yield build
    for hook in hooks:
        hook.close()


def _read(hook: ProgressFileHook) -> dict[str, Any]:
    assert hook.wait_written()
    document = read_progress(hook.path)
    assert document is not None
    return document


def _outcomes(recorder: RecordingHook) -> list[tuple[str, int]]:
    return [(e.outcome, e.count) for e in recorder.events if isinstance(e, ProgressWritten)]


def test_updates_inside_the_interval_are_throttled_and_the_next_due_one_is_written(
    workspace: Workspace, fake_clock: FakeClock, make_hook: HookFactory
) -> None:
    """First update written; updates within min_interval throttled; after it, written again
    (the throttled ones reported as one count just before that write)."""
    recorder = RecordingHook()
    hook, telemetry = make_hook(progress_path(workspace), fake_clock, recorder)
    telemetry.emit(START)
    fake_clock.advance(0.1)
    telemetry.emit(_stage("css", "english_generation", "en"))
    telemetry.emit(RunProgress(run_id="run-1", completed=1, total=4, message="css en"))
    assert _read(hook)["completed"] == 0  # the throttled updates are not on disk yet
    assert _outcomes(recorder) == [("written", 1)]
    fake_clock.advance(0.4)
    telemetry.emit(_stage("css", "translation", "zh"))
    assert _outcomes(recorder) == [("written", 1), ("throttled", 2), ("written", 1)]
    document = _read(hook)
    assert document["completed"] == 1
    assert document["areas"]["css"] == {
        "state": "running",
        "languages": {"en": "ok", "zh": "ok"},
        "stage": "translation",
    }


def test_the_final_state_is_written_even_inside_the_interval(
    workspace: Workspace, fake_clock: FakeClock, make_hook: HookFactory
) -> None:
    """RunFinished is never throttled: the file ends with the run's final state."""
    recorder = RecordingHook()
    hook, telemetry = make_hook(progress_path(workspace), fake_clock, recorder)
    for event in (
        START,
        _stage("css", "area_total", "", "ok"),
        _stage("webgpu", "english_fallback", "en", "fallback"),
        _stage("webgpu", "area_total", "", "fallback"),
        RunProgress(run_id="run-1", completed=4, total=4, message="all done"),
        RunFinished(run_id="run-1", status="completed", seconds=12.5),
    ):
        telemetry.emit(event)
    assert _outcomes(recorder) == [("written", 1), ("throttled", 4), ("written", 1)]
    document = _read(hook)
    assert (document["run_id"], document["status"]) == ("run-1", "completed")
    assert (document["completed"], document["total"]) == (4, 4)
    assert document["areas"]["css"]["state"] == "ok"
    assert document["areas"]["webgpu"]["state"] == "fallback"
    assert document["updated_at"] == "T"
    assert document["message"] == "run completed in 12.5 s"


def test_a_started_run_lists_every_area_as_pending(
    workspace: Workspace, fake_clock: FakeClock, make_hook: HookFactory
) -> None:
    """RunStarted writes version, channel, backend, total digests and every area pending."""
    hook, telemetry = make_hook(progress_path(workspace), fake_clock)
    telemetry.emit(START)
    document = _read(hook)
    assert document["status"] == "running"
    assert (document["version"], document["channel"], document["backend"]) == (
        144,
        "stable",
        "openai",
    )
    assert document["total"] == 4
    assert {a["state"] for a in document["areas"].values()} == {"pending"}


def test_flush_writes_a_throttled_state(
    workspace: Workspace, fake_clock: FakeClock, make_hook: HookFactory
) -> None:
    """flush() puts the last throttled state on disk; with nothing pending it writes nothing."""
    hook, telemetry = make_hook(progress_path(workspace), fake_clock)
    telemetry.emit(START)
    telemetry.emit(RunProgress(run_id="run-1", completed=3, total=4))
    assert _read(hook)["completed"] == 0
    assert hook.flush()
    assert _read(hook)["completed"] == 3
    written = hook.written
    assert hook.flush()
    assert hook.written == written


def test_progress_updates_are_counted_in_prometheus(
    workspace: Workspace, fake_clock: FakeClock, make_hook: HookFactory
) -> None:
    """ProgressWritten events reach the metric catalogue as written/throttled counts."""
    registry = CollectorRegistry()
    _, telemetry = make_hook(progress_path(workspace), fake_clock)
    telemetry.add(PrometheusHook(registry, ("css", "webgpu"), process_metrics=False))
    for event in (START, _stage("css", "english_generation", "en"), START):
        telemetry.emit(event)
    telemetry.emit(RunFinished(run_id="run-1", status="failed", seconds=1.0))
    name = "webplatform_digest_progress_updates_total"
    assert registry.get_sample_value(name, {"outcome": "written"}) == 2.0
    assert registry.get_sample_value(name, {"outcome": "throttled"}) == 2.0


def test_events_without_a_known_run_do_not_touch_the_file(
    workspace: Workspace, fake_clock: FakeClock, make_hook: HookFactory
) -> None:
    """Stage events of an unknown run, or without a run id, are ignored."""
    path = progress_path(workspace)
    hook, telemetry = make_hook(path, fake_clock)
    ignored: list[Event] = [
        _stage("css", "english_generation", "en"),
        StageFinished(area="css", stage="translation", language="zh", outcome="ok", seconds=1),
        RunFinished(run_id="run-9", status="completed", seconds=1.0),
    ]
    for event in ignored:
        telemetry.emit(event)
    assert hook.flush()
    assert not path.exists()
    assert hook.written == hook.throttled == 0


def test_writes_are_atomic_and_leave_no_temporary_files(
    workspace: Workspace, fake_clock: FakeClock, make_hook: HookFactory
) -> None:
    """Many updates later the directory holds only progress.json, always a whole document."""
    hook, telemetry = make_hook(progress_path(workspace), fake_clock)
    telemetry.emit(START)
    _read(hook)
    for i in range(20):  # read while the writer replaces the file: always a whole document
        fake_clock.advance(1.0)
        telemetry.emit(RunProgress(run_id="run-1", completed=i, total=20))
        assert read_progress(hook.path) is not None
    assert _read(hook)["completed"] == 19
    assert [p.name for p in hook.path.parent.iterdir()] == ["progress.json"]


def test_a_slow_disk_does_not_block_the_caller(fake_clock: FakeClock, tmp_path: Path) -> None:
    """While a write hangs, handle() keeps returning; the newest state is written afterwards."""
    gate = threading.Event()
    seen: list[bytes] = []

    def slow(target: Path, data: bytes) -> bool:
        gate.wait(10)
        seen.append(data)
        return True

    with ProgressFileHook(
        tmp_path / "p.json", min_interval=0, clock=fake_clock, writer=slow
    ) as hook:
        hook.handle(START)
        for i in range(50):  # each would block for up to 10 s if the write were synchronous
            hook.handle(RunProgress(run_id="run-1", completed=i, total=50))
        assert not hook.wait_written(timeout=0.01)
        gate.set()
        assert hook.wait_written()
    assert len(seen) < 51  # documents superseded while the disk was slow were skipped
    assert b'"completed": 49' in seen[-1]


def test_a_failing_write_is_logged_not_raised(fake_clock: FakeClock, tmp_path: Path) -> None:
    """Progress is advisory: a write error never propagates into the run."""

    def broken(target: Path, data: bytes) -> bool:
        raise WriteError("disk full")

    with ProgressFileHook(
        tmp_path / "p.json", min_interval=0, clock=fake_clock, writer=broken
    ) as hook:
        hook.handle(START)
        hook.handle(RunFinished(run_id="run-1", status="completed", seconds=1.0))
        assert hook.wait_written()
    assert hook.written == 2


def test_readers_tolerate_a_missing_or_corrupt_file(tmp_path: Path) -> None:
    """Missing, torn, non-JSON and wrong-shape files all read as None."""
    path = tmp_path / "progress.json"
    assert read_progress(path) is None
    for content in (b'{"run_id": "r", "sta', b"\x00\x00", b"[]", b'{"status": "running"}'):
        path.write_bytes(content)
        assert read_progress(path) is None
    path.write_bytes(b'{"run_id": "r", "status": "running"}')
    assert read_progress(path) == {"run_id": "r", "status": "running"}
