"""The one ``Settings`` object, read from ``WEBPLATFORM_*`` environment variables once per process.

Settings are grouped by concern (``settings.llm.base_url``) while every variable keeps its flat
public name (``WEBPLATFORM_LLM_BASE_URL``): a field whose variable is not its own name says so
with ``Env``, and two settings sources of our own read flat variables and flat keyword
overrides (``load_settings(llm_base_url=...)``) into the groups. Domain code never reads the
environment; the container maps ``Settings`` to each consumer's value config (``configs.py``).
"""

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from webplatform_digest import quick_settings as quick
from webplatform_digest.errors import ConfigError
from webplatform_digest.quick_settings import ENV_PREFIX, LLMBackendChoice

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

_SECRET_VARIABLES = frozenset({quick.LLM_API_KEY, "http_token"})


@dataclass(frozen=True, slots=True)
class Env:
    """Field metadata: the flat name (``WEBPLATFORM_<NAME>``) of a field named otherwise."""

    name: str


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


HttpUrl = AfterValidator(quick.http_url)
#: an empty variable (``WEBPLATFORM_LLM_API_KEY=``) means "no secret"
EmptyIsNone = BeforeValidator(lambda value: None if value == "" else value)


class WorkspaceSettings(_Group):
    """Where the workspace is and how its per-area data is read."""

    root: Annotated[Path, Env(quick.ROOT), Field(description="Workspace root directory.")] = Path()
    area_cache_enabled: Annotated[bool, Field(description="Parsed area-data cache.")] = True


class GovernorSettings(_Group):
    """Limits of outbound LLM calls (concurrency, rate, breaker, retries, deadlines)."""

    max_concurrency: Annotated[int, Field(ge=1, le=64, description="LLM calls in flight.")] = 4
    concurrency_enabled: Annotated[
        bool, Field(description="Run LLM calls concurrently (off: one at a time).")
    ] = True
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
    resource_aware: Annotated[
        bool, Field(description="Lower concurrency under CPU or memory pressure.")
    ] = False
    resource_floor: Annotated[int, Field(ge=1, le=64, description="Lowest concurrency.")] = 1
    cpu_high_percent: Annotated[float, Field(gt=0, le=100)] = 90.0
    memory_high_percent: Annotated[float, Field(gt=0, le=100)] = 90.0


class LLMSettings(_Group):
    """Which LLM backend answers and how requests to it are shaped."""

    backend: Annotated[
        LLMBackendChoice, Env(quick.LLM_BACKEND), Field(description="auto|sampling|openai|offline")
    ] = "auto"
    base_url: Annotated[
        str | None,
        Env(quick.LLM_BASE_URL),
        HttpUrl,
        Field(description="OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1"),
    ] = None
    model: Annotated[
        str, Env(quick.LLM_MODEL), Field(min_length=1, max_length=quick.LLM_MODEL_MAX_LENGTH)
    ] = "gpt-4o-mini"
    api_key: Annotated[
        SecretStr | None,
        Env(quick.LLM_API_KEY),
        EmptyIsNone,
        Field(description="API key (never logged)."),
    ] = None
    max_tokens: Annotated[int, Env("llm_max_tokens"), Field(ge=64, le=65536)] = 4096
    temperature: Annotated[float, Env("llm_temperature"), Field(ge=0, le=2)] = 0.2
    max_reply_bytes: Annotated[
        int, Env("llm_max_reply_bytes"), Field(ge=1024, le=16 * 1024 * 1024)
    ] = 256 * 1024


class CacheSettings(_Group):
    """The LLM reply cache (memory + disk), switchable off to fall back to the plain path."""

    enabled: Annotated[
        bool, Env("cache_enabled"), Field(description="Reply cache (memory + disk).")
    ] = True
    ttl: Annotated[float, Env("cache_ttl"), Field(gt=0, description="Reply cache TTL (s).")] = (
        30 * 86400.0
    )
    max_entries: Annotated[int, Env("cache_max_entries"), Field(ge=1, le=1_000_000)] = 2048


class WriteQueueSettings(_Group):
    """The single writer of the workspace."""

    queue_size: Annotated[int, Env("write_queue_size"), Field(ge=1, le=100_000)] = 256
    coalesce_window: Annotated[float, Env("write_coalesce_window"), Field(ge=0, le=5)] = 0.02
    submit_timeout: Annotated[float, Env("write_submit_timeout"), Field(gt=0, le=3600)] = 30.0
    lock_timeout: Annotated[float, Env("workspace_lock_timeout"), Field(gt=0, le=3600)] = 30.0
    coalescing_enabled: Annotated[bool, Field(description="Coalesce same-path writes.")] = True


class RunSettings(_Group):
    """Digest runs: deadline, client rounds and the run registry."""

    deadline: Annotated[
        float,
        Env("run_deadline"),
        Field(gt=0, le=86400, description="Seconds for one whole digest run."),
    ] = 3600.0
    input_rounds: Annotated[
        int,
        Field(ge=4, le=1000, description="Input-required rounds a client allows (SDK default 10)."),
    ] = 10
    retention: Annotated[int, Env("runs_retention"), Field(ge=1, le=100_000)] = quick.RUNS_RETENTION
    languages: Annotated[
        str,
        Field(
            min_length=2,
            max_length=200,
            description="Default digest and site languages: codes (en,zh,ja) or bilingual.",
        ),
    ] = "bilingual"
    parallel_languages: Annotated[
        bool, Field(description="Write each language from the area data beside English.")
    ] = False
    token_ttl: Annotated[float, Env("run_token_ttl"), Field(gt=0, le=7 * 86400)] = (
        quick.RUN_TOKEN_TTL
    )


class TelemetrySettings(_Group):
    """Event log, progress file, metrics endpoint and log level."""

    progress_min_interval: Annotated[float, Field(ge=0, le=3600)] = 0.5
    max_bytes: Annotated[int, Env("telemetry_max_bytes"), Field(ge=4096)] = (
        quick.TELEMETRY_MAX_BYTES
    )
    backups: Annotated[int, Env("telemetry_backups"), Field(ge=0, le=100)] = quick.TELEMETRY_BACKUPS
    metrics_port: Annotated[int | None, Field(ge=0, le=65535)] = None
    log_level: LogLevel = "WARNING"


class HttpSettings(_Group):
    """The streamable-HTTP transport and its security."""

    host: Annotated[str, Env("http_host")] = "127.0.0.1"
    port: Annotated[int, Env("http_port"), Field(ge=0, le=65535)] = 8000
    token: Annotated[
        SecretStr | None,
        Env("http_token"),
        EmptyIsNone,
        Field(description="Bearer token for /mcp."),
    ] = None
    allowed_hosts: Annotated[tuple[str, ...], Env("http_allowed_hosts")] = ()
    allowed_origins: Annotated[tuple[str, ...], Env("http_allowed_origins")] = ()


class MonitorSettings(_Group):
    """The release monitor's site and downloads."""

    base_url: Annotated[str, Env("monitor_base_url"), HttpUrl] = "https://developer.chrome.com"
    fetch_timeout: Annotated[float, Field(gt=0, le=600)] = 20.0
    fetch_max_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 5 * 1024 * 1024
    fetch_concurrency: Annotated[int, Field(ge=1, le=16)] = 4


class PagesSettings(_Group):
    """The generated site."""

    html_preview: Annotated[bool, Field(description="Also render site/ as static HTML.")] = False


class Settings(BaseSettings):
    """Every tunable of webplatform-digest, by concern. Environment: flat ``WEBPLATFORM_<NAME>``."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, validate_default=True)

    workspace: WorkspaceSettings = Field(default_factory=WorkspaceSettings)
    governor: GovernorSettings = Field(default_factory=GovernorSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    writes: WriteQueueSettings = Field(default_factory=WriteQueueSettings)
    runs: RunSettings = Field(default_factory=RunSettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    pages: PagesSettings = Field(default_factory=PagesSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword overrides first, then the flat environment; both grouped before merging."""
        return (_GroupedKeywords(settings_cls, init_settings), _FlatEnvironment(settings_cls))


@dataclass(frozen=True, slots=True)
class _Leaf:
    group: str
    name: str
    variable: str
    field: FieldInfo


def _leaves() -> Iterator[_Leaf]:
    for group, group_field in Settings.model_fields.items():
        model = group_field.annotation
        if not (isinstance(model, type) and issubclass(model, _Group)):
            raise TypeError(f"Settings.{group} must be a settings group")
        for name, field in model.model_fields.items():
            names = [item.name for item in field.metadata if isinstance(item, Env)]
            yield _Leaf(group, name, names[0] if names else name, field)


_BY_VARIABLE = {leaf.variable: leaf for leaf in _leaves()}
_BY_PLACE = {(leaf.group, leaf.name): leaf for leaf in _BY_VARIABLE.values()}


def variable_names() -> tuple[str, ...]:
    """Every ``WEBPLATFORM_*`` variable ``Settings`` reads."""
    return tuple(f"{ENV_PREFIX}{variable.upper()}" for variable in _BY_VARIABLE)


class _GroupedKeywords(PydanticBaseSettingsSource):
    """Keyword overrides, flat (``llm_base_url=``) and/or grouped (``llm={...}``), grouped.

    Flat keys win over a group given whole, so ``load_settings(**s.model_dump() | flat)``
    applies ``flat`` on top of ``s``.
    """

    def __init__(self, settings_cls: type[BaseSettings], keywords: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._keywords = keywords

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: ``__call__`` reads the keywords as a whole."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        grouped: dict[str, Any] = {}
        flat: dict[str, Any] = {}
        for key, value in self._keywords().items():
            if key in Settings.model_fields:
                given = value.model_dump() if isinstance(value, BaseModel) else value
                grouped[key] = (
                    dict(cast("Mapping[str, Any]", given)) if isinstance(given, Mapping) else given
                )
            elif key in _BY_VARIABLE:
                flat[key] = value
        for variable, value in flat.items():
            leaf = _BY_VARIABLE[variable]
            group = grouped.setdefault(leaf.group, {})
            if isinstance(group, dict):
                group[leaf.name] = value
        return grouped


class _FlatEnvironment(PydanticBaseSettingsSource):
    """``WEBPLATFORM_<NAME>`` variables (names case-insensitive), grouped by concern."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._environ = {key.lower(): value for key, value in os.environ.items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The raw value of the variable of ``field_name`` (a flat name), or None."""
        value = self._environ.get(f"{ENV_PREFIX}{field_name}".lower())
        return value, field_name, self.field_is_complex(field)

    def __call__(self) -> dict[str, Any]:
        grouped: dict[str, dict[str, Any]] = {}
        for leaf in _BY_VARIABLE.values():
            raw, _, is_complex = self.get_field_value(leaf.field, leaf.variable)
            if raw is not None:
                value = _decode(self, leaf, raw) if is_complex else raw
                grouped.setdefault(leaf.group, {})[leaf.name] = value
        return dict(grouped)


def _decode(source: PydanticBaseSettingsSource, leaf: _Leaf, raw: str) -> Any:
    """A list variable as JSON (``["a", "b"]``) or, as people write it in a shell, ``a,b``."""
    if not raw.lstrip().startswith("["):
        return [item.strip() for item in raw.split(",") if item.strip()]
    try:
        return source.decode_complex_value(leaf.variable, leaf.field, raw)
    except ValueError:
        variable = f"{ENV_PREFIX}{leaf.variable.upper()}"
        raise ConfigError(
            f"invalid configuration: {variable}: not a JSON list (or write a,b,c)"
        ) from None


def load_settings(**overrides: Any) -> Settings:
    """Build ``Settings`` from the environment plus explicit overrides.

    ``overrides`` use the flat names (``llm_base_url=...``) or whole groups (``llm={...}``).

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
        loc = tuple(str(part) for part in error["loc"])
        leaf = _BY_PLACE.get((loc[0], loc[1])) if len(loc) >= 2 else None
        name = leaf.variable if leaf is not None else "_".join(loc) or "?"
        variable = f"{ENV_PREFIX}{name.upper()}"
        shown = "" if name in _SECRET_VARIABLES else f" (got {str(error.get('input'))[:60]!r})"
        problems.append(f"{variable}: {error['msg']}{shown}")
    return "invalid configuration: " + "; ".join(problems)
