"""JSONL telemetry: every event as one line of ``.monitoring/telemetry.jsonl``, size-rotated.

One writer thread per process owns the file. ``handle()`` only stamps the wall time and appends
the event to a bounded deque (never blocks, takes no lock; when the writer is that far behind
the event is dropped and counted, and the drop is recorded in the file later). The writer lets
events gather for up to ``LINGER_SECONDS`` after a wake-up, so a crash loses at most that much
of the log, and a busy run causes a few wake-ups per second, not one per event. A thread rather
than an anyio task, because events come from the event loop, from worker threads and from sync
CLI code alike, file I/O blocks anyway, and the writer must outlive any one event loop (the CLI
runs several).

Each line: ``{"ts", "seq", "trace_id", "type", "run_id", ...event fields}``. Gauge samples
(``ConcurrencyChanged``, ``WriteQueueDepth``) are left to the metrics unless ``skip`` says
otherwise. ``seq`` increases
by one per line written by this process (across rotations); ``trace_id`` identifies the
process. A torn last line left by a killed writer is terminated before appending, so it costs
exactly that one line; readers skip and count corrupt lines wherever they are.
"""

import contextlib
import logging
import os
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from webplatform_digest.clock import wall_time
from webplatform_digest.events import (
    ConcurrencyChanged,
    Event,
    LoopLag,
    RunProgress,
    WriteQueueDepth,
)
from webplatform_digest.storage.workspace import Workspace

log = logging.getLogger(__name__)

FILE_NAME = "telemetry.jsonl"
QUEUE_SIZE = 10_000
#: how long the writer lets events gather after a wake-up (flush and close cut it short)
LINGER_SECONDS = 0.05
_BATCH = 1024
#: samples of a changing state: the metrics, progress.json and the run registry keep them; a log
#: line each would be a third of the file and of the telemetry cost
GAUGE_SAMPLES: frozenset[type[Event]] = frozenset(
    {ConcurrencyChanged, WriteQueueDepth, RunProgress, LoopLag}
)

Record = tuple[float, Event]


class _Flush:
    """Queue marker: set ``done`` once every earlier event is written."""

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


def telemetry_path(workspace: Workspace) -> Path:
    """``<root>/.monitoring/telemetry.jsonl``."""
    return workspace.path(Workspace.monitoring_rel(FILE_NAME))


def rotated_path(path: Path, index: int) -> Path:
    """The ``index``-th backup of ``path`` (``telemetry.jsonl.1`` is the newest backup)."""
    return path.with_name(f"{path.name}.{index}")


class JsonlHook:
    """Telemetry hook appending events to a size-rotated JSONL file from one writer thread."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int,
        backups: int,
        trace_id: str | None = None,
        wall: Callable[[], float] = wall_time,
        queue_size: int = QUEUE_SIZE,
        linger: float = LINGER_SECONDS,
        skip: frozenset[type[Event]] = GAUGE_SAMPLES,
    ) -> None:
        self.path = path
        self._skip = skip
        self.trace_id = trace_id or uuid.uuid4().hex[:16]
        self.dropped = 0
        self._max_bytes = max_bytes
        self._backups = backups
        self._wall = wall
        self._pending: deque[Record | _Flush | object] = deque()
        self._limit = queue_size
        self._wake = threading.Event()
        self._urgent = threading.Event()
        self._linger = linger
        self._closed = False
        self._lock = threading.Lock()
        self._file = _JsonlFile(path, max_bytes=max_bytes, backups=backups)
        self._seq = 0
        self._trace_json = orjson.dumps(self.trace_id).replace(b"%", b"%%")
        self._heads: dict[type[Event], bytes] = {}
        self._dropped_written = 0
        self._thread = threading.Thread(target=self._run, name="telemetry-jsonl", daemon=True)
        self._thread.start()

    def handle(self, event: Event) -> None:
        """Queue ``event`` for the writer; never blocks (drops and counts when full)."""
        if type(event) in self._skip:
            return
        if self._closed or len(self._pending) >= self._limit:
            self._count_drop()
            return
        self._pending.append((self._wall(), event))
        if not self._wake.is_set():
            self._wake.set()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every event handled so far is in the file. False on timeout."""
        if self._closed or not self._thread.is_alive():
            return False
        marker = _Flush()
        self._control(marker)
        return marker.done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, fsync and close the file, stop the thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._control(_STOP)
        self._thread.join(timeout)

    def __enter__(self) -> "JsonlHook":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _control(self, item: _Flush | object) -> None:
        """Queue a control marker (never dropped, not counted against the bound)."""
        self._pending.append(item)
        self._urgent.set()
        self._wake.set()

    def _count_drop(self) -> None:
        with self._lock:
            self.dropped += 1

    def _run(self) -> None:
        # Lingering turns a wake-up per event into a few per second; a caller waiting on a
        # flush or close sets ``_urgent``. Clear before draining: a later append sets it again.
        stop = False
        while not stop:
            self._wake.wait()
            self._urgent.wait(self._linger)
            self._urgent.clear()
            self._wake.clear()
            while self._pending and not stop:
                batch: list[Record | _Flush | object] = []
                while self._pending and len(batch) < _BATCH:
                    batch.append(self._pending.popleft())
                stop = self._process(batch)
        self._file.close()

    def _process(self, batch: list[Record | _Flush | object]) -> bool:
        """Write a batch; answer flush markers after the lines before them. True on stop."""
        lines: list[bytes] = []
        for item in batch:
            if isinstance(item, tuple):
                record: Record = item
                try:
                    lines.append(self._encode(record))
                except orjson.JSONEncodeError as exc:  # one odd event must not stop the writer
                    log.warning("telemetry: %s not written: %s", type(record[1]).__name__, exc)
                continue
            self._write(lines)
            lines = []
            if isinstance(item, _Flush):
                item.done.set()
            elif item is _STOP:
                return True
        self._write(lines)
        return False

    def _write(self, lines: list[bytes]) -> None:
        dropped = self.dropped
        if dropped > self._dropped_written:
            lines.append(self._drop_line(dropped - self._dropped_written))
            self._dropped_written = dropped
        if not lines:
            return
        try:
            self._file.append(lines)
        except OSError as exc:  # a full disk must not kill telemetry for good
            log.warning("telemetry: %d events not written: %s", len(lines), exc.strerror)

    def _encode(self, record: Record) -> bytes:
        """The line of one event: our header fields spliced before the event's own fields."""
        ts, event = record
        body = orjson.dumps(event, default=str)  # orjson serialises dataclasses natively
        self._seq += 1  # only for lines that exist: seq has no gaps
        head = self._heads.get(type(event))
        if head is None:
            name = orjson.dumps(type(event).__name__)
            head = b'{"ts":%.6f,"seq":%d,"trace_id":' + self._trace_json + b',"type":' + name
            self._heads[type(event)] = head
        return head % (ts, self._seq) + (b"," + body[1:] if len(body) > 2 else b"}") + b"\n"

    def _drop_line(self, count: int) -> bytes:
        self._seq += 1
        line = {"ts": round(self._wall(), 6), "seq": self._seq, "trace_id": self.trace_id}
        return (
            orjson.dumps({**line, "run_id": None, "type": "EventsDropped", "count": count}) + b"\n"
        )


class _JsonlFile:
    """The append-only file with size-based rotation; used by the writer thread only."""

    def __init__(self, path: Path, *, max_bytes: int, backups: int) -> None:
        self._path = path
        self._max_bytes = max_bytes
        self._backups = backups
        self._fd: int | None = None

    def append(self, lines: list[bytes]) -> None:
        """Append whole lines, rotating first whenever the next chunk would pass the limit."""
        fd = self._current()
        size = os.fstat(fd).st_size
        chunk: list[bytes] = []
        chunk_size = 0
        for line in lines:
            if size + chunk_size + len(line) > self._max_bytes and size + chunk_size > 0:
                _write_all(fd, b"".join(chunk))
                fd = self._rotate()
                size, chunk, chunk_size = 0, [], 0
            chunk.append(line)
            chunk_size += len(line)
        _write_all(fd, b"".join(chunk))

    def close(self) -> None:
        """Fsync and close (errors are logged: closing must not raise)."""
        if self._fd is None:
            return
        try:
            os.fsync(self._fd)
        except OSError as exc:
            log.warning("telemetry: fsync failed: %s", exc.strerror)
        finally:
            os.close(self._fd)
            self._fd = None

    def _current(self) -> int:
        """The open descriptor, reopened if another process rotated the file away."""
        if self._fd is not None:
            try:
                if os.stat(self._path).st_ino == os.fstat(self._fd).st_ino:
                    return self._fd
            except FileNotFoundError:
                pass
            os.close(self._fd)
            self._fd = None
        self._fd = _open_for_append(self._path)
        return self._fd

    def _rotate(self) -> int:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        with contextlib.suppress(FileNotFoundError):  # another process may have rotated
            if self._backups == 0:
                os.unlink(self._path)
            else:
                for index in range(self._backups - 1, 0, -1):
                    source = rotated_path(self._path, index)
                    if source.exists():
                        os.replace(source, rotated_path(self._path, index + 1))
                os.replace(self._path, rotated_path(self._path, 1))
        return self._current()


def _open_for_append(path: Path) -> int:
    """Open for appending; terminate a torn last line left by a killed writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        _write_all(fd, b"\n")
    return fd


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


# Reading ---------------------------------------------------------------------------------


def telemetry_files(path: Path) -> list[Path]:
    """The existing telemetry files, oldest first: ``….jsonl.N`` … ``….jsonl.1``, ``….jsonl``."""
    backups: list[tuple[int, Path]] = []
    for candidate in path.parent.glob(f"{path.name}.*"):
        suffix = candidate.name.removeprefix(f"{path.name}.")
        if suffix.isdigit():
            backups.append((int(suffix), candidate))
    ordered = [p for _, p in sorted(backups, reverse=True)]
    return [*ordered, path] if path.is_file() else ordered


class EventStream:
    """Events from JSONL files, one line at a time (in order); ``corrupt`` counts skipped lines.

    A line is corrupt when it is not a JSON object with a string ``type`` and numeric ``ts``:
    torn by a crash, glued to another, or garbage anywhere in the file. Missing files are
    skipped (a rotation may have moved one between listing and reading). Reading line by line
    keeps memory flat whatever the size of the log.
    """

    def __init__(self, paths: Iterable[Path], since: float | None = None) -> None:
        self._paths = tuple(paths)
        self._since = since
        self.corrupt = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for path in self._paths:
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                continue
            with handle:
                yield from self._lines(handle)

    def _lines(self, handle: BinaryIO) -> Iterator[dict[str, Any]]:
        for raw in handle:
            if not raw.strip():
                continue
            event = parse_line(raw)
            if event is None:
                self.corrupt += 1
            elif self._since is None or event["ts"] >= self._since:
                yield event


def read_events(
    paths: Iterable[Path], since: float | None = None
) -> tuple[list[dict[str, Any]], int]:
    """All events of ``EventStream`` as a list, and the number of corrupt lines skipped."""
    stream = EventStream(paths, since)
    events = list(stream)
    return events, stream.corrupt


def parse_line(raw: bytes) -> dict[str, Any] | None:
    """One telemetry record, or None if the line is not one."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("type"), str)
        or not isinstance(value.get("ts"), int | float)
    ):
        return None
    record: dict[str, Any] = value
    return record
