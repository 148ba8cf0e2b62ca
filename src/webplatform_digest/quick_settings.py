"""The few settings a light command needs, read without pydantic; None whenever in doubt.

``Settings`` (pydantic) is the one place that knows every variable, its default and its
validation, and it costs ~100 ms to import. ``process`` and ``pages`` on unchanged input,
``areas``, ``runs`` and ``telemetry summary`` need only the workspace root, the telemetry
log's limits and the run registry's, so they read them here. The names, defaults and
checks it shares with ``Settings`` are defined in this module and ``Settings`` uses them.

The rule that keeps errors as clear as ever: any ``WEBPLATFORM_*`` variable this module does not
know, or knows but cannot validate exactly as ``Settings`` would, makes ``quick_settings``
return None, and the caller builds the full ``Settings`` (which reports the problem). Settings
reads no ``.env`` file, so there is none to consider here.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

ENV_PREFIX = "WEBPLATFORM_"

LLMBackendChoice = Literal["auto", "sampling", "openai", "offline"]

#: flat variable names (``WEBPLATFORM_<NAME>``) of the settings read or accepted here
ROOT = "root"
LLM_BACKEND = "llm_backend"
LLM_BASE_URL = "llm_base_url"
LLM_MODEL = "llm_model"
LLM_API_KEY = "llm_api_key"

LLM_MODEL_MAX_LENGTH = 200
TELEMETRY_MAX_BYTES = 10 * 1024 * 1024
TELEMETRY_BACKUPS = 3
RUNS_RETENTION = 200
RUN_TOKEN_TTL = 3600.0


def http_url(value: str | None) -> str | None:
    """An http(s) base URL without its trailing slash.

    Raises:
        ValueError: it does not start with ``http://`` or ``https://``.
    """
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/") if value else value


def _valid_url(value: str) -> bool:
    try:
        http_url(value)
    except ValueError:
        return False
    return True


#: variables a batch command on unchanged input may see set, each with the check ``Settings``
#: applies to it (the LLM variables are commonly exported for ``run``; ``process`` and
#: ``pages`` never use them, but an invalid value must still be reported by ``Settings``)
_ACCEPTED: dict[str, Callable[[str], bool]] = {
    ROOT: lambda value: value != "",
    LLM_BACKEND: lambda value: value in get_args(LLMBackendChoice),
    LLM_BASE_URL: _valid_url,
    LLM_MODEL: lambda value: 1 <= len(value) <= LLM_MODEL_MAX_LENGTH,
    LLM_API_KEY: lambda value: True,
}


@dataclass(frozen=True, slots=True)
class QuickSettings:
    """What a fast path reads: the same values ``Settings`` would hold for them."""

    root: Path
    telemetry_max_bytes: int = TELEMETRY_MAX_BYTES
    telemetry_backups: int = TELEMETRY_BACKUPS
    runs_retention: int = RUNS_RETENTION
    run_token_ttl: float = RUN_TOKEN_TTL


def quick_settings(environ: Mapping[str, str], root: Path | None = None) -> QuickSettings | None:
    """The settings from ``environ`` with ``root`` (``--root``, already resolved as the CLI
    does) winning over ``WEBPLATFORM_ROOT``; None when ``Settings`` must decide.

    Variable names are case-insensitive, as ``Settings`` reads them; a name given twice in
    different cases is a doubt.
    """
    seen: dict[str, str] = {}
    for key, value in environ.items():
        if not key.upper().startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        check = _ACCEPTED.get(name)
        if check is None or name in seen or not check(value):
            return None
        seen[name] = value
    if root is None:
        if ROOT not in seen:
            return None
        root = Path(seen[ROOT])
    return QuickSettings(root=root)
