"""Grouped settings read from the flat public ``WEBPLATFORM_*`` variables."""

from pathlib import Path

import pytest

from webplatform_digest import quick_settings as quick
from webplatform_digest.errors import ConfigError
from webplatform_digest.quick_settings import QuickSettings, quick_settings
from webplatform_digest.settings import Settings, load_settings, variable_names


def test_flat_variables_fill_the_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """``WEBPLATFORM_LLM_BASE_URL`` lands in ``settings.llm.base_url``, and so on per group."""
    monkeypatch.setenv("WEBPLATFORM_LLM_BASE_URL", "http://127.0.0.1:11434/v1/")
    monkeypatch.setenv("WEBPLATFORM_MAX_CONCURRENCY", "7")
    monkeypatch.setenv("WEBPLATFORM_WORKSPACE_LOCK_TIMEOUT", "2.5")
    monkeypatch.setenv("WEBPLATFORM_RUN_DEADLINE", "60")
    monkeypatch.setenv("WEBPLATFORM_HTML_PREVIEW", "true")
    settings = load_settings()
    assert settings.llm.base_url == "http://127.0.0.1:11434/v1"
    assert settings.governor.max_concurrency == 7
    assert settings.writes.lock_timeout == 2.5
    assert settings.runs.deadline == 60.0
    assert settings.pages.html_preview is True


def test_variable_names_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    """As before the grouping, ``webplatform_http_port`` is read like ``WEBPLATFORM_HTTP_PORT``."""
    monkeypatch.setenv("webplatform_http_port", "9001")
    assert load_settings().http.port == 9001


def test_list_variables_are_json_or_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Allowed hosts are a JSON list or ``a,b``; broken JSON is a configuration error naming it."""
    monkeypatch.setenv("WEBPLATFORM_HTTP_ALLOWED_HOSTS", '["a.example", "b.example"]')
    assert load_settings().http.allowed_hosts == ("a.example", "b.example")
    monkeypatch.setenv("WEBPLATFORM_HTTP_ALLOWED_HOSTS", "a.example, b.example")
    assert load_settings().http.allowed_hosts == ("a.example", "b.example")
    monkeypatch.setenv("WEBPLATFORM_HTTP_ALLOWED_HOSTS", '["a.example"')
    with pytest.raises(ConfigError, match="WEBPLATFORM_HTTP_ALLOWED_HOSTS"):
        load_settings()


def test_flat_keyword_overrides_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``load_settings(root=...)`` (a CLI flag) beats ``WEBPLATFORM_ROOT``."""
    monkeypatch.setenv("WEBPLATFORM_ROOT", "/from/the/environment")
    assert load_settings(root=tmp_path).workspace.root == tmp_path


def test_a_dumped_settings_object_rebuilds_with_flat_overrides_on_top(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``load_settings(**s.model_dump() | flat)`` keeps ``s`` (not the environment) and applies
    ``flat``: the CLI derives per-command settings this way."""
    monkeypatch.setenv("WEBPLATFORM_ROOT", "/from/the/environment")
    first = load_settings(root=tmp_path, llm_model="llama3")
    again = load_settings(**(first.model_dump() | {"max_concurrency": 1}))
    assert again.workspace.root == tmp_path
    assert again.llm.model == "llama3"
    assert again.governor.max_concurrency == 1
    assert load_settings(**first.model_dump()) == first


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"max_concurrency": 0}, "WEBPLATFORM_MAX_CONCURRENCY"),
        ({"llm_base_url": "ftp://x"}, "WEBPLATFORM_LLM_BASE_URL"),
        ({"workspace_lock_timeout": -1}, "WEBPLATFORM_WORKSPACE_LOCK_TIMEOUT"),
        ({"http_port": "eighty"}, "WEBPLATFORM_HTTP_PORT"),
    ],
)
def test_an_invalid_value_is_a_config_error_naming_the_flat_variable(
    overrides: dict[str, object], variable: str
) -> None:
    """The message names the public variable, never the group path."""
    with pytest.raises(ConfigError) as caught:
        load_settings(**overrides)
    assert f"{variable}: " in str(caught.value)


def test_an_invalid_variable_in_the_environment_is_named_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bad environment value reports the variable and the value it got."""
    monkeypatch.setenv("WEBPLATFORM_RATE_LIMIT", "fast")
    with pytest.raises(ConfigError, match=r"WEBPLATFORM_RATE_LIMIT: .*'fast'"):
        load_settings()


def test_a_bad_secret_is_reported_without_its_value() -> None:
    """Errors on the API key or the HTTP token never echo the input."""
    with pytest.raises(ConfigError) as caught:
        load_settings(llm_api_key=12345)
    assert "WEBPLATFORM_LLM_API_KEY" in str(caught.value)
    assert "12345" not in str(caught.value)


def test_an_empty_secret_variable_means_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """``WEBPLATFORM_HTTP_TOKEN=`` leaves the endpoint open rather than requiring ``""``."""
    monkeypatch.setenv("WEBPLATFORM_HTTP_TOKEN", "")
    assert load_settings().http.token is None


def test_every_variable_has_one_place_and_keeps_its_flat_name() -> None:
    """Every variable name is unique, prefixed, and a few well-known ones still exist."""
    names = variable_names()
    assert len(names) == len(set(names))
    assert all(name.startswith("WEBPLATFORM_") for name in names)
    assert {"WEBPLATFORM_ROOT", "WEBPLATFORM_LLM_API_KEY", "WEBPLATFORM_FETCH_TIMEOUT"} <= set(
        names
    )


def test_settings_and_their_groups_are_frozen() -> None:
    """Settings are read once per process and never changed in place."""
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.llm.model = "other"  # type: ignore[misc]


#: values of the variables the light settings accept, and whether ``Settings`` takes them
_CANDIDATES = {
    "WEBPLATFORM_ROOT": [("/srv/digests", True), ("", True)],
    "WEBPLATFORM_LLM_BACKEND": [
        *((choice, True) for choice in ("offline", "auto", "sampling", "openai")),
        *((choice, False) for choice in ("Offline", "bogus", "")),
    ],
    "WEBPLATFORM_LLM_BASE_URL": [
        ("http://127.0.0.1:11434/v1/", True),
        ("https://x.test", True),
        ("ftp://x", False),
        ("", False),
    ],
    "WEBPLATFORM_LLM_MODEL": [
        ("gpt-4o-mini", True),
        ("", False),
        ("m" * 200, True),
        ("m" * 201, False),
    ],
    "WEBPLATFORM_LLM_API_KEY": [("", True), ("secret", True)],
}


def test_the_light_settings_know_only_variables_of_settings() -> None:
    """The light reader's names are ``Settings``' own flat names (defined once, used by both)."""
    names = set(variable_names())
    assert set(_CANDIDATES) <= names
    assert {f"WEBPLATFORM_{quick.ROOT.upper()}", f"WEBPLATFORM_{quick.LLM_MODEL.upper()}"} <= names


@pytest.mark.parametrize(
    ("name", "value", "valid"),
    [(name, value, valid) for name, values in _CANDIDATES.items() for value, valid in values],
)
def test_the_light_settings_defer_every_value_settings_refuse(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, valid: bool
) -> None:
    """A value ``Settings`` refuses makes the light reader defer, so ``Settings`` reports it;
    a value it takes, the light reader may take too."""
    monkeypatch.setenv(name, value)
    light = quick_settings({name: value}, root=tmp_path)
    if valid:
        assert light is None or light.root == tmp_path
        assert load_settings(root=tmp_path).workspace.root == tmp_path
    else:
        assert light is None
        with pytest.raises(ConfigError, match=name):
            load_settings(root=tmp_path)


def test_the_light_settings_defer_to_settings_at_any_doubt(tmp_path: Path) -> None:
    """An unknown variable, a name given in two cases, or no root at all."""
    assert quick_settings({"WEBPLATFORM_MAX_CONCURRENCY": "7"}, root=tmp_path) is None
    both = {"WEBPLATFORM_LLM_MODEL": "a", "webplatform_llm_model": "b"}
    assert quick_settings(both, root=tmp_path) is None
    assert quick_settings({}) is None


def test_the_light_settings_read_the_root_and_the_log_limits_as_settings_do(
    tmp_path: Path,
) -> None:
    """``--root`` wins over ``WEBPLATFORM_ROOT``; the log limits are ``Settings``' defaults."""
    environ = {"WEBPLATFORM_ROOT": "/srv/digests", "PATH": "/bin"}
    assert quick_settings(environ) == QuickSettings(root=Path("/srv/digests"))
    light = quick_settings(environ, root=tmp_path)
    assert light is not None
    assert light.root == tmp_path
    defaults = Settings().telemetry
    assert (light.telemetry_max_bytes, light.telemetry_backups) == (
        defaults.max_bytes,
        defaults.backups,
    )
