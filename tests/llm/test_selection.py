"""Backend selection per run (reliability case 10, the pure part)."""

import pytest

from webplatform_digest.errors import ConfigError, SamplingUnavailableError
from webplatform_digest.llm.selection import choose_backend


@pytest.mark.parametrize(
    ("can_sample", "base_url", "modern", "kind", "flow"),
    [
        (True, True, False, "sampling", "back_channel"),
        (True, False, True, "sampling", "input_required"),
        (False, True, False, "openai", ""),
        (False, False, False, "offline", ""),
    ],
)
def test_auto_prefers_the_client_then_the_server_llm_then_offline(
    can_sample: bool, base_url: bool, modern: bool, kind: str, flow: str
) -> None:
    """``auto`` never fails; the reason says why."""
    choice = choose_backend(
        "auto", client_can_sample=can_sample, server_llm_configured=base_url, modern_session=modern
    )
    assert (choice.kind, choice.flow) == (kind, flow)
    assert choice.reason


def test_an_explicit_choice_is_obeyed_even_if_sampling_is_possible() -> None:
    """``openai`` or ``offline`` win over a sampling client."""
    for configured in ("openai", "offline"):
        choice = choose_backend(configured, client_can_sample=True, server_llm_configured=True)
        assert choice.kind == configured


def test_an_explicit_choice_that_cannot_be_served_fails_with_the_variable_named() -> None:
    """No silent degradation: the message names what to change."""
    with pytest.raises(SamplingUnavailableError, match="WEBPLATFORM_LLM_BACKEND=sampling"):
        choose_backend("sampling", client_can_sample=False, server_llm_configured=True)
    with pytest.raises(ConfigError, match="WEBPLATFORM_LLM_BASE_URL"):
        choose_backend("openai", client_can_sample=True, server_llm_configured=False)
    with pytest.raises(ConfigError, match="unknown backend"):
        choose_backend("magic", client_can_sample=True, server_llm_configured=True)
