"""The governor's limits, a value the container maps from ``Settings`` once per process."""

from dataclasses import dataclass, field

from webplatform_digest.retry import RetryPolicy


def effective_concurrency(configured: int, *, enabled: bool) -> int:
    """LLM calls in flight at most: the configured number, or one when the concurrency
    optimisation is switched off (``WEBPLATFORM_CONCURRENCY_ENABLED=false``, the plain path).

    The governor's slots and a run's batches both use it, so they always agree.
    """
    return max(1, configured) if enabled else 1


@dataclass(frozen=True, slots=True)
class GovernorConfig:
    """The governor's limits (see ``GovernorSettings`` for meaning and defaults)."""

    max_concurrency: int = 4
    rate_limit: float = 2.0
    rate_burst: int = 1
    circuit_threshold: int = 3
    failure_cooldown: float = 5.0
    attempt_timeout: float = 120.0
    call_deadline: float = 600.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    resource_aware: bool = False
    resource_floor: int = 1
    cpu_high_percent: float = 90.0
    memory_high_percent: float = 90.0
    #: an open circuit makes calls wait out the cooldown (within their budget) instead of failing
    wait_for_breaker: bool = False
