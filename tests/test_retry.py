"""The retry policy: full-jitter exponential backoff, Retry-After, attempt and time caps."""

import random
import statistics

import pytest

from webplatform_digest.retry import RetryPolicy

POLICY = RetryPolicy(attempts=4, base_delay=0.5, max_delay=8.0, total_timeout=60.0)


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (9, 8.0)])
def test_backoff_jitter_spreads_over_the_whole_exponential_range(
    attempt: int, ceiling: float
) -> None:
    """1000 samples cover [0, min(cap, base·2^(n-1))] evenly: no clustering, no overshoot."""
    rand = random.Random(attempt).random
    samples = [POLICY.backoff(attempt, rand) for _ in range(1000)]
    assert min(samples) >= 0.0
    assert max(samples) <= ceiling
    assert min(samples) < 0.05 * ceiling
    assert max(samples) > 0.95 * ceiling
    assert statistics.mean(samples) == pytest.approx(ceiling / 2, rel=0.1)
    assert statistics.pstdev(samples) == pytest.approx(ceiling / 12**0.5, rel=0.1)


def test_retry_after_raises_the_delay_but_never_past_the_cap() -> None:
    """A server's Retry-After wins over a shorter jitter and is capped at ``max_delay``."""
    assert POLICY.backoff(1, lambda: 0.0, retry_after=3.0) == 3.0
    assert POLICY.backoff(1, lambda: 0.0, retry_after=60.0) == 8.0
    assert POLICY.backoff(5, lambda: 1.0, retry_after=0.1) == 8.0


def test_attempts_and_total_time_bound_the_retries() -> None:
    """The first try counts; no retry once the budget would be exceeded."""
    assert POLICY.may_retry(3, elapsed=1.0, delay=1.0)
    assert not POLICY.may_retry(4, elapsed=1.0, delay=1.0)
    assert not POLICY.may_retry(1, elapsed=59.5, delay=1.0)
