"""Retry policy: attempts and total-time caps with full-jitter exponential backoff (pure)."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry one logical operation.

    ``attempts`` counts the first try. The delay before attempt ``n + 1`` is drawn uniformly from
    ``[0, min(max_delay, base_delay * 2**(n-1))]`` ("full jitter"), raised to a server's
    ``Retry-After`` when one is given, and never past the remaining total time.
    """

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    total_timeout: float = 60.0

    def backoff(
        self, attempt: int, rand: Callable[[], float], retry_after: float | None = None
    ) -> float:
        """Delay after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        delay = rand() * ceiling
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_delay))
        return delay

    def may_retry(self, attempt: int, elapsed: float, delay: float) -> bool:
        """Whether another attempt fits in the attempt and total-time budgets."""
        return attempt < self.attempts and elapsed + delay < self.total_timeout
