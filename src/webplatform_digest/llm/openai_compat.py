"""Server-side LLM: any OpenAI-compatible ``POST {base_url}/chat/completions`` over httpx.

Works against OpenAI, Ollama (``http://127.0.0.1:11434/v1``), vLLM and LiteLLM. One pooled
``httpx.AsyncClient`` per process is passed in; the container owns and closes it.

Errors: 408 and 5xx are retryable breaker failures (with ``Retry-After`` when the server sends
one); 429 is a ``RateLimitedError`` (retried after its ``Retry-After``, never a breaker failure:
the backend is up, just busy); other 4xx are neither retried nor breaker failures (the request
is wrong, the backend is up); transport errors are retryable failures; timeouts raise
``LLMTimeoutError``; malformed JSON, an empty ``choices`` list or a reply over
``max_reply_bytes`` is a ``BackendError``. The API key travels only in the ``Authorization``
header: it is never logged and is masked out of any error text taken from the response.
"""

import email.utils
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from webplatform_digest.clock import wall_time
from webplatform_digest.errors import (
    BackendError,
    LLMTimeoutError,
    RateLimitedError,
)
from webplatform_digest.llm.port import LLMReply, LLMRequest, Usage

log = logging.getLogger(__name__)

_RETRYABLE_4XX = frozenset({408})
_TOO_MANY_REQUESTS = 429
_DETAIL_CHARS = 200
_ERROR_BODY_BYTES = 8192


@dataclass(frozen=True, slots=True)
class OpenAIEndpoint:
    """Where the server-side LLM answers and which model it runs."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    max_reply_bytes: int = 256 * 1024


class OpenAICompatBackend:
    """``Backend`` for an OpenAI-compatible chat-completions endpoint."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        max_reply_bytes: int = 256 * 1024,
        wall: Callable[[], float] = wall_time,
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._key = api_key or None
        self._max_bytes = max_reply_bytes
        self._wall = wall

    @classmethod
    def from_config(
        cls, http: httpx.AsyncClient, endpoint: OpenAIEndpoint
    ) -> "OpenAICompatBackend":
        """The backend for ``endpoint`` on the shared ``http`` client."""
        return cls(
            http,
            base_url=endpoint.base_url,
            model=endpoint.model,
            api_key=endpoint.api_key,
            max_reply_bytes=endpoint.max_reply_bytes,
        )

    @property
    def name(self) -> str:
        """Backend label."""
        return "openai"

    @property
    def model(self) -> str:
        """The configured model (sent in every request and part of the cache key)."""
        return self._model

    def __repr__(self) -> str:
        return f"OpenAICompatBackend(model={self._model!r}, api_key={'***' if self._key else None})"

    async def complete(self, request: LLMRequest) -> LLMReply:
        """One chat completion.

        Raises:
            BackendError: error status, transport failure, malformed or oversized reply.
            LLMTimeoutError: the HTTP client timed out.
        """
        log.debug("chat completion: model=%s stage=%s", self._model, request.meta.stage)
        try:
            body = await self._post(request)
        except httpx.TimeoutException as exc:
            raise LLMTimeoutError(f"LLM endpoint timed out ({type(exc).__name__})") from None
        except httpx.RequestError as exc:
            raise BackendError(
                f"LLM endpoint unreachable ({type(exc).__name__})", retryable=True
            ) from None
        return self._parse(body)

    async def _post(self, request: LLMRequest) -> bytes:
        headers = {"Accept": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        payload = orjson.dumps(self._payload(request))
        headers["Content-Type"] = "application/json"
        async with self._http.stream("POST", self._url, content=payload, headers=headers) as resp:
            if resp.status_code >= 400:
                raise self._status_error(resp, await _read_capped(resp, _ERROR_BODY_BYTES))
            body = await _read_capped(resp, self._max_bytes + 1)
        if len(body) > self._max_bytes:
            raise BackendError(
                f"LLM reply larger than {self._max_bytes} bytes (WEBPLATFORM_LLM_MAX_REPLY_BYTES)",
                retryable=False,
                counts_as_failure=False,
            )
        return body

    def _payload(self, request: LLMRequest) -> dict[str, Any]:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.text} for m in request.messages]
        return {
            "model": self._model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": False,
        }

    def _status_error(self, resp: httpx.Response, body: bytes) -> BackendError:
        status = resp.status_code
        retryable = status in _RETRYABLE_4XX or status >= 500
        detail = self._redact(_error_detail(body))
        message = f"LLM endpoint answered HTTP {status}" + (f": {detail}" if detail else "")
        retry_after = parse_retry_after(resp.headers.get("retry-after"), self._wall())
        if status == _TOO_MANY_REQUESTS:
            return RateLimitedError(message, retry_after=retry_after)
        return BackendError(
            message,
            status=status,
            retryable=retryable,
            counts_as_failure=retryable,
            retry_after=retry_after,
        )

    def _parse(self, body: bytes) -> LLMReply:
        try:
            data: Any = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BackendError("LLM endpoint sent malformed JSON") from None
        text = _content(data)
        if text is None:
            raise BackendError("LLM endpoint sent no usable choice (empty or missing content)")
        model = data.get("model") if isinstance(data.get("model"), str) else self._model
        return LLMReply(text=text, model=model or self._model, usage=_usage(data.get("usage")))

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


async def _read_capped(resp: httpx.Response, limit: int) -> bytes:
    """At most ``limit`` bytes of the body (stops reading there)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


def _error_detail(body: bytes) -> str:
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    error = data.get("error") if isinstance(data, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    if not isinstance(message, str):
        return ""
    return " ".join(message.split())[:_DETAIL_CHARS]


def _content(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) and content.strip() else None


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt, completion = raw.get("prompt_tokens"), raw.get("completion_tokens")
    return Usage(
        prompt_tokens=prompt if isinstance(prompt, int) else None,
        completion_tokens=completion if isinstance(completion, int) else None,
    )
