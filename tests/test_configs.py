"""``Settings`` mapped to the value configs of the governor, cache, backend, queue and monitor."""

import ast
from pathlib import Path

import pytest

from webplatform_digest.configs import (
    governor_config,
    monitor_config,
    openai_endpoint,
    reply_cache_config,
    write_queue_config,
)
from webplatform_digest.errors import ConfigError, InputError
from webplatform_digest.llm.cache import CACHE_DIR_NAME
from webplatform_digest.settings import load_settings
from webplatform_digest.storage.workspace import Workspace

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "webplatform_digest"
#: the I/O shells whose configs this module maps; they take values, never ``Settings``
SHELLS = (
    "llm/limits.py",
    "llm/governor.py",
    "llm/cache.py",
    "llm/openai_compat.py",
    "storage/queue.py",
    "monitor/chrome_site.py",
    "monitor/tracker.py",
)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    found |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return found


@pytest.mark.parametrize("shell", SHELLS)
def test_the_shells_never_import_settings_or_pydantic(shell: str) -> None:
    """Configuration reaches the shells as frozen dataclasses mapped here, nowhere else."""
    imported = _imported_modules(PACKAGE / shell)
    assert "webplatform_digest.settings" not in imported
    assert not any(name.split(".")[0] in {"pydantic", "pydantic_settings"} for name in imported)


def test_the_governor_waits_for_the_breaker_by_default() -> None:
    """The product default waits; WEBPLATFORM_BREAKER_WAIT=false restores fail-fast."""
    assert governor_config(load_settings()).wait_for_breaker is True
    assert governor_config(load_settings(breaker_wait=False)).wait_for_breaker is False


def test_governor_retries_and_deadlines_come_from_the_governor_settings() -> None:
    """``max_retries`` counts retries (attempts = retries + 1); the call deadline caps them."""
    config = governor_config(
        load_settings(max_retries=4, call_deadline=90, sampling_timeout=30, rate_limit=5)
    )
    assert config.retry.attempts == 5
    assert config.retry.total_timeout == 90.0
    assert (config.call_deadline, config.attempt_timeout, config.rate_limit) == (90.0, 30.0, 5.0)


def test_concurrency_switched_off_means_one_call_and_no_resource_scaling() -> None:
    """``concurrency_enabled=false`` overrides ``max_concurrency`` and ``resource_aware``."""
    config = governor_config(
        load_settings(concurrency_enabled=False, max_concurrency=8, resource_aware=True)
    )
    assert config.max_concurrency == 1
    assert config.resource_aware is False


def test_the_reply_cache_lives_under_the_workspace_and_can_be_switched_off(
    workspace: Workspace,
) -> None:
    """``WEBPLATFORM_CACHE_ENABLED=false`` → no cache; otherwise ``.monitoring/llm-cache/``."""
    config = reply_cache_config(load_settings(root=workspace.root, cache_ttl=60))
    assert config is not None
    assert config.directory == workspace.path(Workspace.monitoring_rel(CACHE_DIR_NAME))
    assert config.ttl == 60.0
    assert reply_cache_config(load_settings(root=workspace.root, cache_enabled=False)) is None


def test_the_openai_endpoint_needs_a_base_url_and_takes_the_secret_key() -> None:
    """The key is unwrapped from its secret for the Authorization header only."""
    endpoint = openai_endpoint(
        load_settings(
            llm_base_url="http://127.0.0.1:11434/v1/", llm_model="llama3", llm_api_key="k"
        )
    )
    assert (endpoint.base_url, endpoint.model, endpoint.api_key) == (
        "http://127.0.0.1:11434/v1",
        "llama3",
        "k",
    )
    with pytest.raises(ConfigError, match="WEBPLATFORM_LLM_BASE_URL"):
        openai_endpoint(load_settings())


def test_the_write_queue_takes_its_bounds_and_the_workspace_lock_timeout() -> None:
    """Queue size, coalescing window and switch, submit and lock timeouts."""
    config = write_queue_config(
        load_settings(
            write_queue_size=8,
            write_coalesce_window=0,
            write_submit_timeout=3,
            workspace_lock_timeout=4,
            coalescing_enabled=False,
        )
    )
    assert (config.queue_size, config.coalesce_window, config.coalescing) == (8, 0.0, False)
    assert (config.submit_timeout, config.lock_timeout) == (3.0, 4.0)


def test_the_monitor_uses_the_fetch_and_retry_settings_and_a_base_url_override() -> None:
    """Timeout, cap, concurrency and retries come from settings; ``base_url`` overrides."""
    settings = load_settings(fetch_timeout=3.0, fetch_max_bytes=4096, fetch_concurrency=2)
    config = monitor_config(settings, base_url="http://127.0.0.1:1/")
    assert config.base_url == "http://127.0.0.1:1"
    assert (config.timeout, config.max_bytes, config.concurrency) == (3.0, 4096, 2)
    assert config.retry.attempts == settings.governor.max_retries + 1
    assert monitor_config(settings).base_url == "https://developer.chrome.com"


def test_a_monitor_base_url_with_credentials_is_refused() -> None:
    """The override is checked like the setting: a plain http(s) site address only."""
    with pytest.raises(InputError):
        monitor_config(load_settings(), base_url="http://user:pw@127.0.0.1/")
