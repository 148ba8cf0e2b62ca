"""The offline backend: deterministic digests without an LLM.

It answers every request with ``request.meta.fallback``, the deterministic digest the prompt
builder prepared from the area data, and labels the reply's model ``offline (no LLM)``. It
does no I/O, so the governor runs it without breaker, concurrency slot, rate token or cache.
"""

from webplatform_digest.errors import BackendError
from webplatform_digest.llm.port import LLMReply, LLMRequest

#: the model label of every offline reply
OFFLINE_MODEL = "offline (no LLM)"


class OfflineBackend:
    """Answers with the request's prepared deterministic text."""

    #: no I/O: the governor skips its limits and cache for this backend
    local = True

    @property
    def name(self) -> str:
        """Backend label."""
        return "offline"

    @property
    def model(self) -> str:
        """Model label (also the cache-key model, though offline replies are never cached)."""
        return OFFLINE_MODEL

    async def complete(self, request: LLMRequest) -> LLMReply:
        """The deterministic digest of ``request``.

        Raises:
            BackendError: the request carries no deterministic text (not retried, not a failure).
        """
        if not request.meta.fallback.strip():
            raise BackendError(
                "the offline backend has no deterministic digest for this request",
                retryable=False,
                counts_as_failure=False,
            )
        return LLMReply(text=request.meta.fallback, model=OFFLINE_MODEL)
