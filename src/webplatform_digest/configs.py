"""``Settings`` mapped to the value configs of the I/O shells, in this one place.

The shells (governor, reply cache, OpenAI backend, write queue, release monitor) take plain
frozen dataclasses and never import ``settings``, so they can be built and tested without
pydantic. Modules that pull in httpx or the LLM stack are imported inside the functions that
need them: the container imports this module on every command, most of which never call an LLM.
"""

from typing import TYPE_CHECKING

from webplatform_digest.errors import ConfigError
from webplatform_digest.llm.limits import GovernorConfig, effective_concurrency
from webplatform_digest.quick_settings import QuickSettings
from webplatform_digest.retry import RetryPolicy
from webplatform_digest.settings import Settings
from webplatform_digest.storage.queue import WriteQueueConfig
from webplatform_digest.storage.workspace import Workspace

if TYPE_CHECKING:
    from webplatform_digest.llm.cache import ReplyCacheConfig
    from webplatform_digest.llm.openai_compat import OpenAIEndpoint
    from webplatform_digest.monitor.chrome_site import MonitorConfig


def quick_settings_of(settings: Settings) -> QuickSettings:
    """The light settings' values out of full ``Settings`` (a command written for the light
    settings runs the same on either)."""
    return QuickSettings(
        root=settings.workspace.root,
        telemetry_max_bytes=settings.telemetry.max_bytes,
        telemetry_backups=settings.telemetry.backups,
        runs_retention=settings.runs.retention,
        run_token_ttl=settings.runs.token_ttl,
    )


def governor_config(settings: Settings) -> GovernorConfig:
    """The governor's limits (``concurrency_enabled=False`` → one call at a time)."""
    limits = settings.governor
    return GovernorConfig(
        max_concurrency=effective_concurrency(
            limits.max_concurrency, enabled=limits.concurrency_enabled
        ),
        rate_limit=limits.rate_limit,
        rate_burst=limits.rate_burst,
        circuit_threshold=limits.circuit_threshold,
        failure_cooldown=limits.failure_cooldown,
        attempt_timeout=limits.sampling_timeout,
        call_deadline=limits.call_deadline,
        retry=RetryPolicy(
            attempts=limits.max_retries + 1,
            base_delay=limits.retry_base_delay,
            max_delay=limits.retry_max_delay,
            total_timeout=limits.call_deadline,
        ),
        resource_aware=limits.resource_aware and limits.concurrency_enabled,
        resource_floor=limits.resource_floor,
        cpu_high_percent=limits.cpu_high_percent,
        memory_high_percent=limits.memory_high_percent,
        wait_for_breaker=limits.breaker_wait,
    )


def reply_cache_config(settings: Settings) -> "ReplyCacheConfig | None":
    """The reply cache under the workspace, or None when ``cache_enabled`` is off."""
    from webplatform_digest.llm.cache import ReplyCacheConfig, cache_directory

    cache = settings.cache
    if not cache.enabled:
        return None
    directory = cache_directory(Workspace.at(settings.workspace.root))
    return ReplyCacheConfig(directory, ttl=cache.ttl, max_entries=cache.max_entries)


def openai_endpoint(settings: Settings) -> "OpenAIEndpoint":
    """The server-side LLM endpoint configured by ``WEBPLATFORM_LLM_*``.

    Raises:
        ConfigError: ``WEBPLATFORM_LLM_BASE_URL`` is not set.
    """
    from webplatform_digest.llm.openai_compat import OpenAIEndpoint

    llm = settings.llm
    if not llm.base_url:
        raise ConfigError("WEBPLATFORM_LLM_BASE_URL is not set: no server-side LLM endpoint")
    return OpenAIEndpoint(
        base_url=llm.base_url,
        model=llm.model,
        api_key=llm.api_key.get_secret_value() if llm.api_key else None,
        max_reply_bytes=llm.max_reply_bytes,
    )


def write_queue_config(settings: Settings) -> WriteQueueConfig:
    """The write queue's bounds, timeouts and coalescing switch."""
    writes = settings.writes
    return WriteQueueConfig(
        queue_size=writes.queue_size,
        coalesce_window=writes.coalesce_window,
        submit_timeout=writes.submit_timeout,
        lock_timeout=writes.lock_timeout,
        coalescing=writes.coalescing_enabled,
    )


def monitor_config(settings: Settings, *, base_url: str | None = None) -> "MonitorConfig":
    """The release monitor's site and download limits; ``base_url`` (``--base-url``) wins.

    Retries follow the governor's retry settings; the total budget covers every attempt's
    timeout plus the longest backoff between them.

    Raises:
        InputError: the base URL is not a plain http(s) site address.
    """
    from webplatform_digest.monitor.chrome_site import MonitorConfig, check_base_url

    site, limits = settings.monitor, settings.governor
    retries = limits.max_retries
    retry = RetryPolicy(
        attempts=retries + 1,
        base_delay=limits.retry_base_delay,
        max_delay=limits.retry_max_delay,
        total_timeout=(retries + 1) * site.fetch_timeout + retries * limits.retry_max_delay,
    )
    return MonitorConfig(
        base_url=check_base_url(base_url or site.base_url),
        timeout=site.fetch_timeout,
        max_bytes=site.fetch_max_bytes,
        concurrency=site.fetch_concurrency,
        retry=retry,
    )
