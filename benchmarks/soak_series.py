"""The server's RSS and open fds over a soak: sampled at a fixed interval and printed as they come.

``make soak`` reports them per minute (``--sample-every 60``), so a slow leak shows as a slope
even when the levels or runs report only their start and end.
"""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

import anyio
import psutil


@dataclass(frozen=True, slots=True)
class Sample:
    """One look at the server: seconds since the soak started, RSS, open fds, what was running."""

    seconds: float
    rss_mib: float
    fds: int
    phase: str


def probe_process(pid: int) -> tuple[float, int]:
    """RSS (MiB) and open fds of process ``pid``."""
    process = psutil.Process(pid)
    return process.memory_info().rss / 2**20, process.num_fds()


class Series:
    """Samples of one process, every ``every`` seconds while ``run`` is awaited (cancel it to
    stop); ``phase`` names what the soak is doing, so each sample says where it was taken."""

    def __init__(self, pid: int, every: float) -> None:
        self.pid = pid
        self.every = every
        self.phase = "start"
        self.samples: list[Sample] = []
        self._started = time.monotonic()

    def take(self) -> Sample:
        """Sample now, print the line and keep it."""
        rss, fds = probe_process(self.pid)
        sample = Sample(round(time.monotonic() - self._started, 1), round(rss, 1), fds, self.phase)
        self.samples.append(sample)
        line = f"RSS {sample.rss_mib:6.1f} MiB  fds {fds:>3}  {self.phase}"
        print(f"  [{sample.seconds:>6.0f} s] {line}")
        return sample

    async def run(self) -> None:
        """Sample at every tick until cancelled (the first sample at once)."""
        next_at = time.monotonic()
        while True:
            self.take()
            next_at += self.every
            await anyio.sleep(max(0.0, next_at - time.monotonic()))

    def to_json(self) -> dict[str, Any]:
        """The series for the report, with its overall growth."""
        first, last = self.samples[0], self.samples[-1]
        return {
            "every_seconds": self.every,
            "samples": [asdict(s) for s in self.samples],
            "rss_growth_mib": round(last.rss_mib - first.rss_mib, 1),
            "fd_growth": last.fds - first.fds,
            "rss_peak_mib": max(s.rss_mib for s in self.samples),
        }


@asynccontextmanager
async def sampling(pid: int, every: float) -> AsyncIterator[Series]:
    """A series of process ``pid`` sampled in the background while the block runs, with a last
    sample (phase ``end``) taken when it is done."""
    series = Series(pid, every)
    async with anyio.create_task_group() as sampler:
        sampler.start_soon(series.run)
        try:
            yield series
        finally:
            sampler.cancel_scope.cancel()
    series.phase = "end"
    series.take()
