"""Reply cache: an unchanged request to the same backend and model is answered without a call.

Key: sha256 of (backend name, model, ``LLMRequest.prompt_digest()``). Two layers: a bounded
in-memory LRU with TTL (cachetools) and one small JSON file per key under
``.monitoring/llm-cache/`` (written crash-safely with ``writes.atomic_write``), so a re-run of
the process with unchanged inputs makes zero LLM calls. Corrupt or expired files count as misses.
Every lookup emits ``CacheLookup(cache="reply", layer=memory|disk|miss)``.

Disk writes and removals run in order on one writer thread of the cache. ``put`` waits for its
write; ``store_later`` (the governor's, between an LLM reply and the next request) only queues
it, ``flush`` waits for every queued one. Interpreter exit finishes the queue.
"""

import concurrent.futures
import hashlib
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import anyio.to_thread
import cachetools
import orjson

from webplatform_digest.clock import Clock, monotonic, wall_time
from webplatform_digest.errors import WriteError
from webplatform_digest.events import CacheLookup, Telemetry
from webplatform_digest.llm.port import LLMReply, LLMRequest, Usage
from webplatform_digest.storage.commit import atomic_write
from webplatform_digest.storage.workspace import Workspace

log = logging.getLogger(__name__)

CACHE_DIR_NAME = "llm-cache"
_FORMAT = 1
_KEY = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class ReplyCacheConfig:
    """Where and for how long replies are kept (``directory=None``: memory only)."""

    directory: Path | None
    ttl: float = 30 * 86400.0
    max_entries: int = 2048


def cache_directory(workspace: Workspace) -> Path:
    """The workspace's on-disk reply cache (``.monitoring/llm-cache/``)."""
    return workspace.path(Workspace.monitoring_rel(CACHE_DIR_NAME))


def reply_key(backend: str, model: str, request: LLMRequest) -> str:
    """The cache key of ``request`` sent to ``backend``/``model``."""
    h = hashlib.sha256()
    for part in (backend, model, request.prompt_digest()):
        h.update(part.encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()


def encode_entry(reply: LLMReply, created: float) -> bytes:
    """The on-disk form of one cached reply."""
    usage = reply.usage
    return orjson.dumps(
        {
            "format": _FORMAT,
            "created": created,
            "text": reply.text,
            "model": reply.model,
            "usage": None if usage is None else [usage.prompt_tokens, usage.completion_tokens],
        }
    )


def decode_entry(data: bytes) -> tuple[LLMReply, float] | None:
    """A reply and its creation time from the on-disk form; None if it is not well-formed."""
    try:
        raw: Any = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(raw, dict):
        return None
    entry = cast("dict[str, object]", raw)  # JSON objects come back untyped
    if entry.get("format") != _FORMAT:
        return None
    text, model, created, usage = (
        entry.get("text"),
        entry.get("model"),
        entry.get("created"),
        entry.get("usage"),
    )
    if not isinstance(text, str) or not isinstance(model, str):
        return None
    if not isinstance(created, int | float):
        return None
    return LLMReply(text=text, model=model, usage=_usage(usage)), float(created)


def _usage(raw: object) -> Usage | None:
    pair = cast("list[object]", raw) if isinstance(raw, list) else None
    if pair is None or len(pair) != 2:
        return None
    prompt, completion = pair
    return Usage(
        prompt_tokens=prompt if isinstance(prompt, int) else None,
        completion_tokens=completion if isinstance(completion, int) else None,
    )


class ReplyCache:
    """Memory (LRU + TTL) and optional disk layer; both bounded by ``ttl``."""

    def __init__(
        self,
        directory: Path | None,
        telemetry: Telemetry,
        *,
        ttl: float,
        max_entries: int,
        clock: Clock = monotonic,
        wall: Callable[[], float] = wall_time,
    ) -> None:
        self._dir = directory
        self._telemetry = telemetry
        self._ttl = ttl
        self._wall = wall
        self._memory: cachetools.TTLCache[str, LLMReply] = cachetools.TTLCache(
            maxsize=max_entries, ttl=ttl, timer=clock
        )
        # one thread, made on the first disk write: writes and removals land in call order
        self._writer: concurrent.futures.ThreadPoolExecutor | None = None
        self._queued: set[concurrent.futures.Future[None]] = set()
        self._queued_lock = threading.Lock()

    @classmethod
    def from_config(
        cls, config: "ReplyCacheConfig", telemetry: Telemetry, *, clock: Clock = monotonic
    ) -> "ReplyCache":
        """The cache ``config`` describes."""
        return cls(
            config.directory,
            telemetry,
            ttl=config.ttl,
            max_entries=config.max_entries,
            clock=clock,
        )

    async def get(self, key: str, *, run_id: str | None = None) -> LLMReply | None:
        """The cached reply for ``key`` (marked ``cached=True``), or None."""
        reply = self._memory.get(key)
        layer = "memory"
        if reply is None:
            reply = self._read(key)
            layer = "disk"
            if reply is not None:
                self._memory[key] = reply
        if reply is None:
            layer = "miss"
        self._telemetry.emit(
            CacheLookup(cache="reply", hit=reply is not None, layer=layer, run_id=run_id)
        )
        return None if reply is None else replace(reply, cached=True)

    async def put(self, key: str, reply: LLMReply) -> None:
        """Remember ``reply`` in memory and on disk (a disk failure is logged, not raised)."""
        queued = self.store_later(key, reply)
        if queued is not None:
            await anyio.to_thread.run_sync(queued.result)

    def store_later(self, key: str, reply: LLMReply) -> "concurrent.futures.Future[None] | None":
        """Remember ``reply`` in memory now and queue its disk write (None: memory only)."""
        reply = replace(reply, cached=False)
        self._memory[key] = reply
        path = self._path(key)
        if path is None:
            return None
        return self._queue(_write_entry, path, encode_entry(reply, self._wall()))

    async def flush(self) -> None:
        """Wait until every queued disk write and removal is done."""
        with self._queued_lock:
            queued = list(self._queued)
        if queued:
            await anyio.to_thread.run_sync(concurrent.futures.wait, queued)

    def discard(self, key: str) -> None:
        """Forget ``key`` in both layers (e.g. a reply that failed validation)."""
        self._memory.pop(key, None)
        path = self._path(key)
        if path is not None:
            # behind any queued write of the same file; waited for (rare, sub-millisecond), so
            # a lookup right after it cannot find the file
            self._queue(_remove_entry, path).result()

    def _queue(self, job: Callable[..., None], *args: object) -> "concurrent.futures.Future[None]":
        if self._writer is None:
            self._writer = concurrent.futures.ThreadPoolExecutor(1, "reply-cache")
        queued = self._writer.submit(job, *args)
        with self._queued_lock:
            self._queued.add(queued)
        queued.add_done_callback(self._done)
        return queued

    def _done(self, queued: "concurrent.futures.Future[None]") -> None:
        with self._queued_lock:
            self._queued.discard(queued)

    def _read(self, key: str) -> LLMReply | None:
        path = self._path(key)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        entry = decode_entry(data)
        if entry is None:
            log.info("reply cache: ignoring corrupt entry %s", path.name)
            return None
        reply, created = entry
        if self._wall() - created > self._ttl:
            return None
        return reply

    def _path(self, key: str) -> Path | None:
        if self._dir is None or not _KEY.fullmatch(key):
            return None
        return self._dir / f"{key}.json"


def _write_entry(path: Path, data: bytes) -> None:
    try:
        atomic_write(path, data)
    except WriteError as exc:
        log.warning("reply cache: %s", exc)


def _remove_entry(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("reply cache: cannot remove %s: %s", path.name, exc)
