"""Builders shared by the LLM tests: requests and a governor on a fake clock."""

import asyncio
import random
from dataclasses import replace
from typing import Any, TypeVar

from tests.fakes import FakeClock
from webplatform_digest.configs import governor_config
from webplatform_digest.events import Event, LLMAttempt, RecordingHook, Telemetry
from webplatform_digest.llm.governor import Governor, GovernorConfig
from webplatform_digest.llm.port import LLMRequest, Message, RequestMeta
from webplatform_digest.retry import RetryPolicy
from webplatform_digest.settings import load_settings

E = TypeVar("E", bound=Event)

#: limits used unless a test overrides them: no rate limit in the way, no retries
FAST = GovernorConfig(
    max_concurrency=4,
    rate_limit=1000.0,
    rate_burst=100,
    circuit_threshold=3,
    failure_cooldown=5.0,
    attempt_timeout=2.0,
    call_deadline=60.0,
    retry=RetryPolicy(attempts=1, base_delay=0.5, max_delay=8.0, total_timeout=60.0),
)


def product_defaults() -> GovernorConfig:
    """The governor limits of a default ``Settings()``, mapped the way the container maps them."""
    return governor_config(load_settings())


def ask(text: str = "Summarise CSS in Chrome 144.", *, area: str = "css") -> LLMRequest:
    """A small request."""
    return LLMRequest(
        system="You write digests.",
        messages=(Message("user", text),),
        meta=RequestMeta(area=area, stage="english_generation", language="en", run_id="r1"),
    )


def governed(
    clock: FakeClock, config: GovernorConfig = FAST, **changes: Any
) -> tuple[Governor, RecordingHook]:
    """A governor on ``clock`` (seeded jitter) and the hook that records its events."""
    hook = RecordingHook()
    governor = Governor(
        replace(config, **changes),
        Telemetry((hook,)),
        clock=clock,
        sleep=clock.sleep,
        rand=random.Random(7).random,
    )
    return governor, hook


def retrying(attempts: int, *, base: float = 0.5, cap: float = 8.0) -> RetryPolicy:
    """A retry policy with ``attempts`` tries."""
    return RetryPolicy(attempts=attempts, base_delay=base, max_delay=cap, total_timeout=600.0)


def outcomes(hook: RecordingHook) -> list[str]:
    """The outcome of every recorded attempt, in order."""
    return [e.outcome for e in attempts(hook)]


def attempts(hook: RecordingHook) -> list[LLMAttempt]:
    """Every recorded ``LLMAttempt``."""
    return [e for e in hook.events if isinstance(e, LLMAttempt)]


def of(hook: RecordingHook, kind: type[E]) -> list[E]:
    """Recorded events of one type, typed."""
    return [e for e in hook.events if isinstance(e, kind)]


def leftover_tasks(clock: FakeClock) -> list["asyncio.Task[object]"]:
    """Tasks still alive besides the current one and the clock's helper."""
    me = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t is not me and not clock.is_helper(t)]
