"""The offline backend: the prepared deterministic text, labelled, no LLM."""

import pytest

from webplatform_digest.errors import BackendError
from webplatform_digest.llm.offline import OFFLINE_MODEL, OfflineBackend
from webplatform_digest.llm.port import LLMRequest, Message, RequestMeta


async def test_the_reply_is_the_requests_fallback_text_labelled_offline() -> None:
    """Same request → same text, model label says no LLM was used."""
    request = LLMRequest(
        system="s", messages=(Message("user", "q"),), meta=RequestMeta(fallback="## CSS\n- x")
    )
    backend = OfflineBackend()
    first, second = await backend.complete(request), await backend.complete(request)
    assert first == second
    assert (first.text, first.model) == ("## CSS\n- x", OFFLINE_MODEL)
    assert (backend.name, backend.local) == ("offline", True)


async def test_a_request_without_fallback_text_is_refused_without_counting_as_a_failure() -> None:
    """Nothing to say → a non-retryable, non-failure error."""
    with pytest.raises(BackendError) as caught:
        await OfflineBackend().complete(LLMRequest(system="s", messages=()))
    assert (caught.value.retryable, caught.value.counts_as_failure) == (False, False)
