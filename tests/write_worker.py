"""Subprocess side of the write-queue crash and multi-process tests.

Run as ``python -m tests.write_worker MODE ROOT ...``.

Modes:
* ``forkserver ROOT``: reads ``spawn SEED KILL_AFTER`` lines; forks a child that opens a
  ``WriteQueue`` on ROOT, prints ``ready PID SWEPT LEFT`` and writes checksummed files forever,
  SIGKILLing itself at its KILL_AFTER-th file syscall (0: never, the test kills it). Replies
  ``exited PID STATUS`` when the child is gone. ``quit`` ends it.
* ``batches ROOT NAME COUNT``: writes COUNT batches whose files all carry one generation tag.
* ``hold ROOT``: holds the workspace lock, prints ``locked``, releases when stdin closes.
"""

import hashlib
import os
import random
import signal
import sys
from pathlib import Path, PurePosixPath

import anyio
import filelock

from webplatform_digest.storage.commit import TEMP_PREFIX, TEMP_SUFFIX
from webplatform_digest.storage.lock import LOCK_NAME
from webplatform_digest.storage.queue import WriteQueue, WriteQueueConfig
from webplatform_digest.storage.workspace import Workspace

FOOTER = b"\n#sha256="
TARGETS = tuple(PurePosixPath(f"out/d{i % 3}/file-{i}.txt") for i in range(6))
SET_FILES = tuple(PurePosixPath(f"set/part-{i}.txt") for i in range(5))


def with_footer(payload: bytes) -> bytes:
    """``payload`` followed by a checksum footer line."""
    return payload + FOOTER + hashlib.sha256(payload).hexdigest().encode() + b"\n"


def footer_ok(data: bytes) -> bool:
    """Whether ``data`` ends with a footer that matches its payload."""
    payload, sep, digest = data.rpartition(FOOTER)
    return bool(sep) and hashlib.sha256(payload).hexdigest().encode() + b"\n" == digest


def temps_under(root: Path) -> int:
    """Number of leftover temp files under ``root``."""
    return sum(1 for _ in root.rglob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"))


def _kill_after(count: int) -> None:
    """SIGKILL this process at its ``count``-th file syscall (write/fsync/replace/open/unlink)."""
    calls = [0]

    def wrap(name: str) -> None:
        original = getattr(os, name)

        def counted(*args: object, **kwargs: object) -> object:
            calls[0] += 1
            if calls[0] >= count:
                os.kill(os.getpid(), signal.SIGKILL)
            return original(*args, **kwargs)

        setattr(os, name, counted)

    for name in ("write", "fsync", "replace", "open", "unlink"):
        wrap(name)


async def _write_forever(root: Path, seed: int, kill_after: int) -> None:
    rng = random.Random(seed)
    config = WriteQueueConfig(coalesce_window=0.0, stage_threads=2)
    async with WriteQueue.open(Workspace.at(root), config) as queue:
        sys.stdout.write(f"ready {os.getpid()} {queue.swept} {temps_under(root)}\n")
        sys.stdout.flush()
        if kill_after:
            _kill_after(kill_after)
        for round_no in range(10**9):
            chosen = rng.sample(TARGETS, 3)
            files = {rel: with_footer(rng.randbytes(rng.randint(1, 120_000))) for rel in chosen}
            if round_no % 2:
                await queue.write_batch(files)
            else:
                for rel, data in files.items():
                    await queue.write(rel, data)


def forkserver(root: Path) -> None:
    """Fork one writer child per ``spawn`` command (the parent stays single-threaded)."""
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            return
        seed, kill_after = int(words[1]), int(words[2])
        pid = os.fork()
        if pid == 0:
            try:
                anyio.run(_write_forever, root, seed, kill_after)
            finally:
                os._exit(3)
        _, status = os.waitpid(pid, 0)
        sys.stdout.write(f"exited {pid} {status}\n")
        sys.stdout.flush()


async def _batches(root: Path, name: str, count: int) -> None:
    config = WriteQueueConfig(lock_timeout=20.0, stage_threads=2)
    async with WriteQueue.open(Workspace.at(root), config) as queue:
        for index in range(count):
            tag = f"{name}-{index}".encode()
            await queue.write_batch(
                {rel: with_footer(tag + b"\n" + rel.name.encode() * 500) for rel in SET_FILES}
            )


def hold(root: Path) -> None:
    """Hold the workspace lock until stdin closes."""
    lock_path = Workspace.at(root).path(Workspace.monitoring_rel(LOCK_NAME))
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(lock_path):
        sys.stdout.write("locked\n")
        sys.stdout.flush()
        sys.stdin.read()


def main(argv: list[str]) -> int:
    """Dispatch on the mode word."""
    mode, root = argv[0], Path(argv[1])
    if mode == "forkserver":
        forkserver(root)
    elif mode == "batches":
        anyio.run(_batches, root, argv[2], int(argv[3]))
    elif mode == "hold":
        hold(root)
    else:
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
