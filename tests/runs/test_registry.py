"""The run registry: runs, snapshots, event logs, retention, recovery and round tokens."""

import sqlite3
import threading
from pathlib import Path

import pytest

from tests.runs_support import run_of_a_dead_process
from webplatform_digest.errors import NotFoundError, RunStateError, WriteError
from webplatform_digest.events import LLMAttempt, RunFinished, RunStarted, Telemetry
from webplatform_digest.runs.driver import progress_report
from webplatform_digest.runs.event_log import RunRegistryHook
from webplatform_digest.runs.registry import RunRegistry, RunStatus, new_run_id
from webplatform_digest.runs.session import RunServices
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import DirectWriter


class Wall:
    """A settable wall clock (token expiry and timestamps)."""

    def __init__(self) -> None:
        self.now = 1_760_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def wall() -> Wall:
    """A wall clock the test moves."""
    return Wall()


@pytest.fixture
def registry(tmp_path: Path, wall: Wall):
    """A registry in a temporary directory with a 60 s token TTL."""
    reg = RunRegistry(tmp_path / "runs.sqlite3", retention=3, token_ttl=60.0, wall=wall)
    yield reg
    reg.close()


def _new(registry: RunRegistry, status: RunStatus = RunStatus.RUNNING) -> str:
    return registry.create_run(
        version=144, channel="stable", params={"areas": ["css"]}, status=status
    )


def test_no_run_id_starts_with_a_dash_so_a_resume_command_never_reads_it_as_an_option() -> None:
    """One id in 64 would start with ``-`` if ids were plain URL-safe tokens."""
    ids = [new_run_id() for _ in range(2000)]
    assert not [run_id for run_id in ids if run_id.startswith("-")]
    assert len(set(ids)) == 2000


def test_runs_get_unguessable_distinct_ids_and_are_stored_with_their_parameters(
    registry: RunRegistry,
) -> None:
    """Ids are long random strings; parameters and times come back."""
    ids = {_new(registry) for _ in range(3)}
    assert len(ids) == 3
    assert all(len(run_id) >= 20 for run_id in ids)
    record = registry.get(next(iter(ids)))
    assert record.status is RunStatus.RUNNING
    assert record.params == {"areas": ["css"]}
    assert record.started_at == "2025-10-09T08:53:20Z"
    assert record.finished_at is None


def test_a_final_status_stores_results_summary_and_the_end_time(
    registry: RunRegistry, wall: Wall
) -> None:
    """Completing a run records when, what, and the summary."""
    run_id = _new(registry)
    wall.now += 12
    registry.update(
        run_id,
        status=RunStatus.COMPLETED,
        results={"css": {"en": "ok"}},
        summary={"llm_calls": 2},
    )
    record = registry.get(run_id)
    assert record.status is RunStatus.COMPLETED
    assert record.finished_at == "2025-10-09T08:53:32Z"
    assert record.results == {"css": {"en": "ok"}}
    assert record.summary == {"llm_calls": 2}
    assert record.to_json()["status"] == "completed"


def test_unknown_runs_and_missing_snapshots_give_clear_errors(registry: RunRegistry) -> None:
    """NotFoundError for unknown ids, RunStateError when nothing was saved."""
    with pytest.raises(NotFoundError, match="no digest run with id 'nope'"):
        registry.get("nope")
    run_id = _new(registry)
    with pytest.raises(RunStateError, match="no stored state"):
        registry.load_snapshot(run_id)
    registry.update(run_id, snapshot={"schema": 1, "x": [1, 2]})
    assert registry.load_snapshot(run_id) == {"schema": 1, "x": [1, 2]}


def test_event_logs_are_numbered_per_run_and_readable_after_a_sequence(
    registry: RunRegistry,
) -> None:
    """Each run has its own 1, 2, 3 …; events_after(k) gives the later ones."""
    first, second = _new(registry), _new(registry)
    assert [registry.append_event(first, "E", {"i": i}) for i in range(5)] == [1, 2, 3, 4, 5]
    assert registry.append_event(second, "E", {}) == 1
    later = registry.events_after(first, after_seq=3)
    assert [(e.seq, e.data["i"]) for e in later] == [(4, 3), (5, 4)]
    assert [e.seq for e in registry.events_after(first, 0, limit=2)] == [1, 2]
    assert registry.append_event("unknown", "E", {}) == 0
    with pytest.raises(NotFoundError):
        registry.events_after("unknown")


def test_the_hook_records_run_level_events_only(registry: RunRegistry) -> None:
    """RunStarted/RunFinished are logged; attempt events and run-less events are not."""
    run_id = _new(registry)
    telemetry = Telemetry((RunRegistryHook(registry),))
    telemetry.emit(
        RunStarted(
            run_id=run_id,
            version=144,
            channel="stable",
            areas=("css",),
            languages=("en",),
            backend="offline",
        )
    )
    telemetry.emit(
        LLMAttempt(
            run_id=run_id,
            backend="x",
            stage="english_generation",
            language="en",
            area="css",
            attempt=1,
            outcome="success",
        )
    )
    telemetry.emit(RunFinished(run_id=None, status="completed", seconds=1.0))
    telemetry.emit(RunFinished(run_id=run_id, status="completed", seconds=1.0))
    events = registry.events_after(run_id)
    assert [e.kind for e in events] == ["RunStarted", "RunFinished"]
    assert events[0].data["areas"] == ["css"]
    assert "run_id" not in events[0].data


def test_the_hook_never_raises_even_when_the_database_is_closed(tmp_path: Path, wall: Wall) -> None:
    """Instrumentation must not break a run."""
    reg = RunRegistry(tmp_path / "r.sqlite3", wall=wall)
    run_id = _new(reg)
    reg.close()
    RunRegistryHook(reg).handle(RunFinished(run_id=run_id, status="completed", seconds=1.0))


def test_retention_keeps_the_newest_finished_runs_and_every_active_one(
    registry: RunRegistry, wall: Wall
) -> None:
    """With retention 3, older finished runs (and their events) are pruned."""
    active = _new(registry)
    finished = []
    for _ in range(5):
        wall.now += 1
        run_id = _new(registry)
        registry.append_event(run_id, "E", {})
        registry.update(run_id, status=RunStatus.COMPLETED)
        finished.append(run_id)
    registry.prune()
    kept = {r.run_id for r in registry.list_runs(100)}
    assert kept == {active, *finished[-3:]}
    with pytest.raises(NotFoundError):
        registry.events_after(finished[0])


def test_runs_left_running_by_a_dead_process_are_marked_interrupted(
    registry: RunRegistry,
) -> None:
    """A run created by a process that exited is interrupted at the next startup; ours is not."""
    orphan = run_of_a_dead_process(registry.path)
    mine = _new(registry)
    assert registry.recover_interrupted() == [orphan]
    assert registry.get(orphan).status is RunStatus.INTERRUPTED
    assert "resume" in registry.get(orphan).reason
    assert registry.get(mine).status is RunStatus.RUNNING


def test_runs_awaiting_input_past_the_token_ttl_are_interrupted(
    registry: RunRegistry, wall: Wall
) -> None:
    """A client that never came back leaves an interrupted run, not a forever-waiting one."""
    waiting = _new(registry, RunStatus.AWAITING_INPUT)
    fresh = _new(registry, RunStatus.AWAITING_INPUT)
    wall.now += 61
    registry.update(fresh, status=RunStatus.AWAITING_INPUT)
    assert registry.recover_interrupted() == [waiting]


def test_an_abandoned_round_run_is_interrupted_at_the_next_progress_request(
    tmp_path: Path, wall: Wall
) -> None:
    """No restart needed: the next look at the run after the token's lifetime finds it
    interrupted (resumable), as ``get_digest_progress`` does."""
    registry = RunRegistry(tmp_path / "runs.sqlite3", token_ttl=60.0, wall=wall)
    workspace = Workspace.at(tmp_path / "ws")
    services = RunServices(workspace, registry, DirectWriter(workspace), Telemetry(()))
    waiting = _new(registry, RunStatus.AWAITING_INPUT)
    assert progress_report(services, waiting)["run"]["status"] == "awaiting_input"
    wall.now += 61
    assert progress_report(services, waiting)["run"]["status"] == "interrupted"
    registry.close()


def _awaiting(registry: RunRegistry) -> tuple[str, str]:
    run_id = _new(registry, RunStatus.AWAITING_INPUT)
    return run_id, registry.issue_token(run_id, 1)


def test_a_round_token_is_spent_once(registry: RunRegistry) -> None:
    """The first use returns the run and round; a replay is rejected."""
    run_id, token = _awaiting(registry)
    assert registry.consume_token(token, run_id) == (run_id, 1)
    with pytest.raises(RunStateError, match=r"already used \(replayed\)"):
        registry.consume_token(token)


def test_forged_tokens_are_rejected(registry: RunRegistry) -> None:
    """A token the registry never issued, or garbage, is rejected clearly."""
    _awaiting(registry)
    with pytest.raises(RunStateError, match="not recognised: it was forged"):
        registry.consume_token("A" * 43)
    with pytest.raises(RunStateError, match="malformed"):
        registry.consume_token("")


def test_expired_tokens_are_rejected(registry: RunRegistry, wall: Wall) -> None:
    """After the TTL a token is no longer accepted."""
    _, token = _awaiting(registry)
    wall.now += 61
    with pytest.raises(RunStateError, match=r"expired \(tokens live 60 s\)"):
        registry.consume_token(token)


def test_stale_tokens_and_tokens_of_other_runs_are_rejected(registry: RunRegistry) -> None:
    """Only the latest round's token of the named run is accepted."""
    run_id, old = _awaiting(registry)
    registry.issue_token(run_id, 2)
    with pytest.raises(RunStateError, match="stale: the run is awaiting_input at round 2"):
        registry.consume_token(old)
    other, token = _awaiting(registry)
    with pytest.raises(RunStateError, match="different run"):
        registry.consume_token(token, run_id)
    registry.update(other, status=RunStatus.CANCELLED)
    with pytest.raises(RunStateError, match="the run is cancelled"):
        registry.consume_token(token, other)


def test_concurrent_uses_of_one_token_admit_exactly_one(registry: RunRegistry) -> None:
    """Two threads racing with the same token: one wins, one sees a replay."""
    run_id, token = _awaiting(registry)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def use() -> None:
        barrier.wait()
        try:
            registry.consume_token(token, run_id)
            outcomes.append("ok")
        except RunStateError:
            outcomes.append("rejected")

    threads = [threading.Thread(target=use) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["ok", "rejected", "rejected", "rejected"]


def test_tokens_are_stored_only_as_hashes_in_a_wal_database(registry: RunRegistry) -> None:
    """The database file never contains a plaintext token; journal mode is WAL."""
    _, token = _awaiting(registry)
    registry.close()
    with sqlite3.connect(registry.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        stored = [row[0] for row in db.execute("SELECT digest FROM tokens")]
    assert stored
    assert token not in stored
    wal = Path(str(registry.path) + "-wal")
    raw = registry.path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert token.encode() not in raw


def test_a_full_database_is_a_write_error_naming_the_file(registry: RunRegistry) -> None:
    """SQLITE_FULL (the page cap reached, as on a full disk) is one WriteError, not sqlite3."""
    db = registry._db  # pyright: ignore[reportPrivateUsage]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    run_id = _new(registry)
    db.execute(f"PRAGMA max_page_count={pages + 1}")

    def fill() -> None:
        for _ in range(200):
            registry.append_event(run_id, "RunStarted", {"padding": "x" * 4000})

    with pytest.raises(WriteError, match=r"cannot write the run registry .*runs\.sqlite3: .*full"):
        fill()


def test_a_registry_that_cannot_be_created_names_its_path() -> None:
    """A root nothing can be created under (even by root): one WriteError with the path."""
    with pytest.raises(WriteError, match=r"cannot open the run registry /proc/nope/runs\.sqlite3"):
        RunRegistry(Path("/proc/nope/runs.sqlite3"))


def test_a_read_only_registry_reads_a_closed_database_and_refuses_writes(
    tmp_path: Path, wall: Wall
) -> None:
    path = tmp_path / "runs.sqlite3"
    writer = RunRegistry(path, token_ttl=60.0, wall=wall)
    run_id = _new(writer)
    writer.close()
    assert not path.with_name("runs.sqlite3-shm").exists()  # as a read-only mount finds it

    reader = RunRegistry(path, token_ttl=60.0, wall=wall, read_only=True)

    assert [record.run_id for record in reader.list_runs()] == [run_id]
    assert reader.recover_interrupted() == []
    with pytest.raises(WriteError, match="cannot write the run registry"):
        _new(reader)
    reader.close()


def test_a_read_only_registry_without_a_database_lists_no_runs(tmp_path: Path) -> None:
    reader = RunRegistry(tmp_path / "absent" / "runs.sqlite3", read_only=True)

    assert reader.list_runs() == []
    assert not (tmp_path / "absent").exists()
    reader.close()


def test_a_read_only_registry_without_a_database_refuses_writes_too(tmp_path: Path) -> None:
    reader = RunRegistry(tmp_path / "runs.sqlite3", read_only=True)

    with pytest.raises(WriteError, match="opened read-only"):
        _new(reader)
    assert not (tmp_path / "runs.sqlite3").exists()
    reader.close()
