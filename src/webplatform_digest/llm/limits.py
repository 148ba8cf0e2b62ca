"""The governor's limits, taken from ``Settings`` once per process."""

from dataclasses import dataclass, field

from webplatform_digest.retry import RetryPolicy
from webplatform_digest.settings import Settings


@dataclass(frozen=True, slots=True)
class GovernorConfig:
    """The governor's limits (see ``Settings`` for meaning and defaults)."""

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

    @classmethod
    def from_settings(cls, settings: Settings) -> "GovernorConfig":
        """The limits configured by ``settings`` (``concurrency_enabled=False`` → limit 1)."""
        return cls(
            max_concurrency=settings.governor.max_concurrency
            if settings.governor.concurrency_enabled
            else 1,
            rate_limit=settings.governor.rate_limit,
            rate_burst=settings.governor.rate_burst,
            circuit_threshold=settings.governor.circuit_threshold,
            failure_cooldown=settings.governor.failure_cooldown,
            attempt_timeout=settings.governor.sampling_timeout,
            call_deadline=settings.governor.call_deadline,
            retry=RetryPolicy(
                attempts=settings.governor.max_retries + 1,
                base_delay=settings.governor.retry_base_delay,
                max_delay=settings.governor.retry_max_delay,
                total_timeout=settings.governor.call_deadline,
            ),
            resource_aware=settings.governor.resource_aware
            and settings.governor.concurrency_enabled,
            resource_floor=settings.governor.resource_floor,
            cpu_high_percent=settings.governor.cpu_high_percent,
            memory_high_percent=settings.governor.memory_high_percent,
            wait_for_breaker=settings.governor.breaker_wait,
        )
