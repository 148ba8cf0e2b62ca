"""The one ``Settings`` object, read from ``WEBPLATFORM_*`` environment variables once per process.

Domain code never reads the environment; it receives ``Settings`` (or values taken from it).
"""

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from webplatform_digest.errors import ConfigError

ENV_PREFIX = "WEBPLATFORM_"

LLMBackendChoice = Literal["auto", "sampling", "openai", "offline"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

_SECRET_FIELDS = frozenset({"llm_api_key", "http_token"})


class Settings(BaseSettings):
    """Every tunable of webplatform-digest. Environment: ``WEBPLATFORM_<FIELD>``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, validate_default=True
    )

    root: Annotated[Path, Field(description="Workspace root directory.")] = Path()

    # Governor (outbound LLM calls)
    max_concurrency: Annotated[int, Field(ge=1, le=64, description="LLM calls in flight.")] = 4
    rate_limit: Annotated[float, Field(gt=0, le=1000, description="LLM calls per second.")] = 2.0
    rate_burst: Annotated[int, Field(ge=1, le=100, description="Calls admitted at once.")] = 1
    circuit_threshold: Annotated[
        int, Field(ge=1, le=100, description="Consecutive failures that open the breaker.")
    ] = 3
    failure_cooldown: Annotated[
        float, Field(gt=0, le=3600, description="Seconds the breaker stays open.")
    ] = 5.0
    breaker_wait: Annotated[
        bool,
        Field(description="Open circuit: wait out the cooldown within the retry budget."),
    ] = True
    sampling_timeout: Annotated[
        float, Field(gt=0, le=3600, description="Seconds per LLM attempt.")
    ] = 120.0
    max_retries: Annotated[
        int, Field(ge=0, le=10, description="Retries after the first attempt.")
    ] = 2
    retry_base_delay: Annotated[float, Field(ge=0, le=60, description="Backoff base (s).")] = 0.5
    retry_max_delay: Annotated[float, Field(ge=0, le=600, description="Backoff cap (s).")] = 8.0
    call_deadline: Annotated[
        float, Field(gt=0, le=86400, description="Seconds for one logical call incl. retries.")
    ] = 600.0
    run_deadline: Annotated[
        float, Field(gt=0, le=86400, description="Seconds for one whole digest run.")
    ] = 3600.0
    resource_aware: Annotated[
        bool, Field(description="Lower concurrency under CPU or memory pressure.")
    ] = False
    resource_floor: Annotated[int, Field(ge=1, le=64, description="Lowest concurrency.")] = 1
    cpu_high_percent: Annotated[float, Field(gt=0, le=100)] = 90.0
    memory_high_percent: Annotated[float, Field(gt=0, le=100)] = 90.0

    # LLM backends
    llm_backend: Annotated[LLMBackendChoice, Field(description="auto|sampling|openai|offline")] = (
        "auto"
    )
    llm_base_url: Annotated[
        str | None, Field(description="OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1")
    ] = None
    llm_model: Annotated[str, Field(min_length=1, max_length=200)] = "gpt-4o-mini"
    llm_api_key: Annotated[SecretStr | None, Field(description="API key (never logged).")] = None
    llm_max_tokens: Annotated[int, Field(ge=64, le=65536)] = 4096
    llm_temperature: Annotated[float, Field(ge=0, le=2)] = 0.2
    llm_max_reply_bytes: Annotated[int, Field(ge=1024, le=16 * 1024 * 1024)] = 256 * 1024

    # Optimisations, each switchable off to fall back to the plain path
    cache_enabled: Annotated[bool, Field(description="Reply cache (memory + disk).")] = True
    cache_ttl: Annotated[float, Field(gt=0, description="Reply cache TTL (s).")] = 30 * 86400.0
    cache_max_entries: Annotated[int, Field(ge=1, le=1_000_000)] = 2048
    area_cache_enabled: Annotated[bool, Field(description="Parsed area-data cache.")] = True
    coalescing_enabled: Annotated[bool, Field(description="Coalesce same-path writes.")] = True
    concurrency_enabled: Annotated[
        bool, Field(description="Run LLM calls concurrently (off: one at a time).")
    ] = True

    # Writes
    write_queue_size: Annotated[int, Field(ge=1, le=100_000)] = 256
    write_coalesce_window: Annotated[float, Field(ge=0, le=5)] = 0.02
    write_submit_timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0
    workspace_lock_timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0

    # Telemetry, progress, runs
    progress_min_interval: Annotated[float, Field(ge=0, le=3600)] = 0.5
    telemetry_max_bytes: Annotated[int, Field(ge=4096)] = 10 * 1024 * 1024
    telemetry_backups: Annotated[int, Field(ge=0, le=100)] = 3
    runs_retention: Annotated[int, Field(ge=1, le=100_000)] = 200
    run_token_ttl: Annotated[float, Field(gt=0, le=7 * 86400)] = 3600.0
    input_rounds: Annotated[
        int,
        Field(ge=4, le=1000, description="Input-required rounds a client allows (SDK default 10)."),
    ] = 10

    # Transports and security
    metrics_port: Annotated[int | None, Field(ge=0, le=65535)] = None
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=0, le=65535)] = 8000
    http_token: Annotated[SecretStr | None, Field(description="Bearer token for /mcp.")] = None
    http_allowed_hosts: tuple[str, ...] = ()
    http_allowed_origins: tuple[str, ...] = ()
    log_level: LogLevel = "WARNING"

    # Release monitor
    monitor_base_url: str = "https://developer.chrome.com"
    fetch_timeout: Annotated[float, Field(gt=0, le=600)] = 20.0
    fetch_max_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 5 * 1024 * 1024
    fetch_concurrency: Annotated[int, Field(ge=1, le=16)] = 4

    # Pages
    html_preview: Annotated[bool, Field(description="Also render site/ as static HTML.")] = False

    @field_validator("llm_base_url", "monitor_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("llm_api_key", "http_token", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: object) -> object:
        return None if value == "" else value


def load_settings(**overrides: Any) -> Settings:
    """Build ``Settings`` from the environment plus explicit overrides.

    Raises:
        ConfigError: a value is invalid; the message names the environment variable.
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    problems: list[str] = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        variable = f"{ENV_PREFIX}{name.upper()}"
        shown = "" if name in _SECRET_FIELDS else f" (got {str(error.get('input'))[:60]!r})"
        problems.append(f"{variable}: {error['msg']}{shown}")
    return "invalid configuration: " + "; ".join(problems)
