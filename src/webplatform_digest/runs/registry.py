"""The run registry: digest runs, their results, snapshots, event logs and round tokens (SQLite).

One file, ``.monitoring/runs.sqlite3``, in WAL mode so a client polling progress never waits for a
run writing its state. Runs get unguessable ids; every run event gets a per-run sequence number
so a client that lost its connection asks for the events after the last one it saw. Round
tokens of the input-required flow are single-use, expire, and are stored only as hashes.
"""

import hashlib
import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable, Generator, Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from webplatform_digest.clock import wall_time
from webplatform_digest.errors import NotFoundError, RunStateError, WriteError
from webplatform_digest.runs.records import (
    ACTIVE,
    RunEvent,
    RunRecord,
    RunStatus,
    iso_time,
    new_run_id,
)
from webplatform_digest.storage.commit import reason

__all__ = ["ACTIVE", "RunEvent", "RunRecord", "RunRegistry", "RunStatus", "new_run_id"]

log = logging.getLogger(__name__)

#: bound on one run's event log (a run emits a handful of events per area)
MAX_EVENTS_PER_RUN = 20_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    channel TEXT NOT NULL,
    params TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    updated_at REAL NOT NULL,
    results TEXT NOT NULL DEFAULT '{}',
    summary TEXT,
    snapshot TEXT,
    round INTEGER NOT NULL DEFAULT 0,
    owner_pid INTEGER,
    owner_started REAL,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    round INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tokens_by_run ON tokens (run_id);
"""


def _process_identity(pid: int) -> float | None:
    """Start time of process ``pid`` (tells a live owner from a reused pid), None if gone."""
    import psutil  # only needed here; keeps server start-up lighter

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def _open_read_only(path: Path) -> sqlite3.Connection:
    """The registry for reading only: the file as it is, or an empty one in memory if absent.

    A WAL database that was closed cleanly has no ``-shm`` file, and SQLite cannot make one on
    a read-only mount; ``immutable`` then reads the file without the shared-memory index.
    """
    if not path.is_file():
        db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        db.executescript(_SCHEMA)
        return db
    uri = path.resolve().as_uri()
    failures: list[str] = []
    for query in ("mode=ro", "mode=ro&immutable=1"):
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(
                f"{uri}?{query}", uri=True, isolation_level=None, check_same_thread=False
            )
            db.execute("SELECT count(*) FROM runs").fetchone()
        except sqlite3.Error as exc:
            failures.append(str(exc))
            if db is not None:
                db.close()  # opened, but unreadable this way: try the next
            continue
        return db
    raise NotFoundError(f"cannot read the run registry {path}: {failures[-1]}")


def _why(exc: OSError | sqlite3.Error) -> str:
    if isinstance(exc, OSError):
        return reason(exc)
    return str(exc)


class RunRegistry:
    """SQLite-backed registry of digest runs; safe to share between threads and processes."""

    def __init__(
        self,
        path: Path,
        *,
        retention: int = 200,
        token_ttl: float = 3600.0,
        wall: Callable[[], float] = wall_time,
        read_only: bool = False,
    ) -> None:
        self.path = path
        self.read_only = read_only
        self._retention = retention
        self._token_ttl = token_ttl
        self._wall = wall
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._started = _process_identity(self._pid)
        if read_only:
            self._db = _open_read_only(path)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=10
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise WriteError(f"cannot open the run registry {path}: {_why(exc)}") from None

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def _rollback(self) -> None:
        # SQLite ends the transaction itself on some errors (SQLITE_FULL among them)
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    @contextmanager
    def _tx(self) -> Generator[sqlite3.Connection]:
        """One write transaction (taken immediately so concurrent writers queue, not fail)."""
        if self.read_only:
            raise WriteError(f"cannot write the run registry {self.path}: opened read-only")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except sqlite3.Error as exc:
                self._rollback()
                # a full disk or a read-only file: one line naming the database, not a traceback
                raise WriteError(f"cannot write the run registry {self.path}: {exc}") from exc
            except BaseException:
                self._rollback()
                raise
            self._db.execute("COMMIT")

    # Runs -------------------------------------------------------------------------------

    def create_run(
        self,
        *,
        version: int,
        channel: str,
        params: dict[str, Any],
        status: RunStatus = RunStatus.RUNNING,
        run_id: str | None = None,
        snapshot: dict[str, Any] | None = None,
    ) -> str:
        """Register a new run owned by this process; returns its id (``new_run_id()`` if None).

        ``snapshot``: its initial state, so the run can be resumed even if the process dies
        before its first save.
        """
        run_id = run_id or new_run_id()
        now = self._wall()
        state = _dump(snapshot) if snapshot is not None else None
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (run_id, status, version, channel, params, started_at,"
                " updated_at, owner_pid, owner_started, snapshot)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, status.value, version, channel, _dump(params), now, now, self._pid,
                 self._started, state),
            )  # fmt: skip
        self.prune()
        return run_id

    def get(self, run_id: str) -> RunRecord:
        """The stored run.

        Raises:
            NotFoundError: no run with this id (never existed or pruned).
        """
        with self._lock:
            row = self._db.execute(
                "SELECT run_id, status, version, channel, params, started_at, finished_at,"
                " results, summary, round, reason FROM runs WHERE run_id = ?",
                (run_id,),
            ).fetchone()
        if row is None:
            raise NotFoundError(f"no digest run with id {run_id[:64]!r} (unknown or pruned)")
        return _record(row)

    def list_runs(self, limit: int = 20) -> list[RunRecord]:
        """The most recent runs, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT run_id, status, version, channel, params, started_at, finished_at,"
                " results, summary, round, reason FROM runs ORDER BY started_at DESC, rowid DESC"
                " LIMIT ?",
                (max(1, min(limit, 1000)),),
            ).fetchall()
        return [_record(row) for row in rows]

    def statuses(self, run_ids: Iterable[str]) -> dict[str, str]:
        """The stored status of each known run among ``run_ids`` (unknown ones are left out)."""
        wanted = list(dict.fromkeys(run_ids))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):  # SQLite caps the parameters of one query
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT run_id, status FROM runs WHERE run_id IN ({marks})", chunk
                ).fetchall()
            found.update((run_id, status) for run_id, status in rows)
        return found

    def update(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        snapshot: dict[str, Any] | None = None,
        results: dict[str, Any] | None = None,
        summary: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Store any of: status, machine snapshot, per-area results, final summary, reason.

        A final status (completed, failed, cancelled, interrupted) also sets the end time.
        """
        sets: list[str] = ["updated_at = ?"]
        values: list[object] = [self._wall()]
        for column, value in (
            ("status", status.value if status else None),
            ("snapshot", _dump(snapshot) if snapshot is not None else None),
            ("results", _dump(results) if results is not None else None),
            ("summary", _dump(summary) if summary is not None else None),
            ("reason", reason),
        ):
            if value is not None:
                sets.append(f"{column} = ?")
                values.append(value)
        if status is not None and status not in ACTIVE:
            sets.append("finished_at = ?")
            values.append(self._wall())
        elif status is not None:
            sets.append("finished_at = NULL")
        if status is RunStatus.RUNNING:
            sets += ["owner_pid = ?", "owner_started = ?"]
            values += [self._pid, self._started]
        with self._tx() as db:
            db.execute(f"UPDATE runs SET {', '.join(sets)} WHERE run_id = ?", (*values, run_id))

    def load_snapshot(self, run_id: str) -> dict[str, Any]:
        """The last stored machine snapshot of a run.

        Raises:
            NotFoundError: unknown run. RunStateError: the run stored no snapshot.
        """
        self.get(run_id)
        with self._lock:
            row = self._db.execute(
                "SELECT snapshot FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        if row is None or row[0] is None:
            raise RunStateError(f"run {run_id[:64]!r} has no stored state to resume from")
        return orjson.loads(row[0])

    def recover_interrupted(self) -> list[str]:
        """Mark runs left active by a dead process (or abandoned past the token TTL) interrupted.

        Call at startup. Returns the ids marked; their snapshots stay, so they can be resumed.
        A read-only registry marks nothing (it cannot be written).
        """
        if self.read_only:
            return []
        now = self._wall()
        with self._lock:
            rows = self._db.execute(
                "SELECT run_id, status, owner_pid, owner_started, updated_at FROM runs"
                " WHERE status IN (?, ?)",
                (RunStatus.RUNNING.value, RunStatus.AWAITING_INPUT.value),
            ).fetchall()
        dead = [
            run_id
            for run_id, status, pid, started, updated in rows
            if (status == RunStatus.RUNNING.value and not self._owner_alive(pid, started))
            or (status == RunStatus.AWAITING_INPUT.value and updated + self._token_ttl < now)
        ]
        for run_id in dead:
            self.update(
                run_id,
                status=RunStatus.INTERRUPTED,
                reason="the process driving this run stopped; resume it or start a new run",
            )
        return dead

    def _owner_alive(self, pid: int | None, started: float | None) -> bool:
        if pid is None:
            return False
        if pid == self._pid:
            return started == self._started
        found = _process_identity(pid)
        return found is not None and started is not None and abs(found - started) < 1.0

    def prune(self) -> int:
        """Delete the oldest finished runs beyond the retention bound, and expired tokens."""
        with self._tx() as db:
            old = [
                row[0]
                for row in db.execute(
                    "SELECT run_id FROM runs WHERE status NOT IN (?, ?)"
                    " ORDER BY started_at DESC, rowid DESC LIMIT -1 OFFSET ?",
                    (RunStatus.RUNNING.value, RunStatus.AWAITING_INPUT.value, self._retention),
                )
            ]
            for run_id in old:
                for table in ("runs", "events", "tokens"):
                    db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM tokens WHERE expires_at < ?", (self._wall() - 86400,))
        return len(old)

    # Events -----------------------------------------------------------------------------

    def append_event(self, run_id: str, kind: str, data: dict[str, Any]) -> int:
        """Append to a run's event log; returns the event's sequence number (0 if dropped)."""
        with self._tx() as db:
            row = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id = ?", (run_id,)
            ).fetchone()
            seq = int(row[0]) + 1
            known = db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if known is None or seq > MAX_EVENTS_PER_RUN:
                return 0
            db.execute(
                "INSERT INTO events (run_id, seq, at, kind, data) VALUES (?, ?, ?, ?, ?)",
                (run_id, seq, self._wall(), kind, _dump(data)),
            )
        return seq

    def events_after(self, run_id: str, after_seq: int = 0, limit: int = 100) -> list[RunEvent]:
        """Events of a run with sequence number > ``after_seq``, oldest first.

        Raises:
            NotFoundError: unknown run.
        """
        self.get(run_id)
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, at, kind, data FROM events WHERE run_id = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (run_id, max(0, after_seq), max(1, min(limit, 1000))),
            ).fetchall()
        return [
            RunEvent(seq, iso_time(at) or "", kind, orjson.loads(data))
            for seq, at, kind, data in rows
        ]

    # Round tokens -----------------------------------------------------------------------

    def issue_token(self, run_id: str, round_number: int) -> str:
        """A fresh single-use token for round ``round_number`` of a run (stored hashed)."""
        token = secrets.token_urlsafe(32)
        with self._tx() as db:
            db.execute(
                "INSERT INTO tokens (digest, run_id, round, expires_at) VALUES (?, ?, ?, ?)",
                (_digest(token), run_id, round_number, self._wall() + self._token_ttl),
            )
            db.execute("UPDATE runs SET round = ? WHERE run_id = ?", (round_number, run_id))
        return token

    def consume_token(self, token: str, run_id: str | None = None) -> tuple[str, int]:
        """Check and spend a round token; returns (run id, round).

        Raises:
            RunStateError: the token is forged, expired, replayed, stale or for another run.
        """
        if not 0 < len(token) <= 256:
            raise RunStateError("run token is missing or malformed; start a new run")
        with self._tx() as db:
            row = db.execute(
                "SELECT t.run_id, t.round, t.expires_at, t.used, r.round, r.status FROM tokens t"
                " JOIN runs r ON r.run_id = t.run_id WHERE t.digest = ?",
                (_digest(token),),
            ).fetchone()
            _check_token(row, run_id, self._wall(), self._token_ttl)
            db.execute("UPDATE tokens SET used = 1 WHERE digest = ?", (_digest(token),))
        assert row is not None
        return str(row[0]), int(row[1])


def _check_token(row: Any, run_id: str | None, now: float, ttl: float) -> None:
    if row is None:
        raise RunStateError(
            "run token not recognised: it was forged, issued by another server, or its run was "
            "pruned; start a new run"
        )
    owner, round_number, expires_at, used, current_round, status = row
    if run_id is not None and run_id != owner:
        raise RunStateError("run token belongs to a different run")
    if used:
        raise RunStateError(
            "run token was already used (replayed); continue with the token of the latest round"
        )
    if expires_at < now:
        raise RunStateError(f"run token expired (tokens live {ttl:.0f} s); start the run again")
    if status != RunStatus.AWAITING_INPUT.value or round_number != current_round:
        raise RunStateError(f"run token is stale: the run is {status} at round {current_round}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _dump(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


def _record(row: Any) -> RunRecord:
    run_id, status, version, channel, params, started, finished, results, summary = row[:9]
    return RunRecord(
        run_id=run_id,
        status=RunStatus(status),
        version=int(version),
        channel=channel,
        params=orjson.loads(params),
        started_at=iso_time(started) or "",
        finished_at=iso_time(finished),
        results=orjson.loads(results),
        summary=orjson.loads(summary) if summary else None,
        round=int(row[9]),
        reason=row[10],
    )
