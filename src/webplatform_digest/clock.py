"""Time sources. Everything that measures or waits takes a ``Clock`` so tests can drive time."""

import time
from collections.abc import Callable
from datetime import UTC, datetime

#: a monotonic clock in seconds
Clock = Callable[[], float]

monotonic: Clock = time.monotonic


def wall_time() -> float:
    """Seconds since the epoch, for timestamps in files and events (never for durations)."""
    return time.time()


def utc_now_iso() -> str:
    """The current UTC time as an ISO-8601 string with seconds precision."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
