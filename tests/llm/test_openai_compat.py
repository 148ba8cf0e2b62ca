"""The OpenAI-compatible backend against a real loopback HTTP server that injects faults."""

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.llm.support import FAST, ask, outcomes, retrying
from webplatform_digest.errors import BackendError, LLMTimeoutError, RateLimitedError
from webplatform_digest.events import RecordingHook, Telemetry
from webplatform_digest.llm.governor import Governor
from webplatform_digest.llm.openai_compat import (
    OpenAICompatBackend,
    OpenAIEndpoint,
    parse_retry_after,
)
from webplatform_digest.llm.port import Usage

API_KEY = "sk-test-0123456789-do-not-leak"


def completion(text: str = "A digest.", model: str = "served-model") -> dict[str, Any]:
    """A well-formed chat-completions answer."""
    return {
        "id": "c1",
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 34},
    }


@dataclass
class Action:
    """What the fake endpoint does with one request."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict[str, str])
    hang: bool = False


def answer(obj: object, status: int = 200, **headers: str) -> Action:
    """Respond with JSON."""
    return Action(status=status, body=json.dumps(obj).encode(), headers=headers)


@dataclass
class Endpoint:
    """The loopback server's script and what it received."""

    url: str
    actions: list[Action]
    received: list[tuple[dict[str, str], dict[str, Any]]]
    release: threading.Event


def make_handler(endpoint_ref: list[Endpoint]) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to the endpoint (created after the port is known)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            endpoint = endpoint_ref[0]
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length) or b"{}")
            endpoint.received.append((dict(self.headers.items()), payload))
            action = endpoint.actions.pop(0) if endpoint.actions else answer(completion())
            if action.hang:
                endpoint.release.wait(30)
                return
            self.send_response(action.status)
            for name, value in {"Content-Type": "application/json", **action.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(action.body)))
            self.end_headers()
            self.wfile.write(action.body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test asserts on our logs, not the server's."""

    return Handler


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    """A scripted OpenAI-compatible endpoint on 127.0.0.1:<free port>."""
    ref: list[Endpoint] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(ref))
    server.daemon_threads = True
    port = server.server_address[1]
    ref.append(Endpoint(f"http://127.0.0.1:{port}/v1", [], [], threading.Event()))
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield ref[0]
    ref[0].release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
async def http() -> Any:
    """A pooled client like the container's."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
        yield client


def backend_for(endpoint: Endpoint, http: httpx.AsyncClient, **kwargs: Any) -> OpenAICompatBackend:
    """The backend pointed at the loopback endpoint, with the test key."""
    return OpenAICompatBackend(
        http, base_url=endpoint.url, model="gpt-test", api_key=API_KEY, **kwargs
    )


async def test_a_completion_is_parsed_and_the_key_is_sent_as_a_bearer_header(
    endpoint: Endpoint, http: httpx.AsyncClient
) -> None:
    """Text, model and usage come back; the request carries prompt, limits and the key."""
    reply = await backend_for(endpoint, http).complete(ask("Summarise CSS."))
    assert (reply.text, reply.model, reply.usage) == ("A digest.", "served-model", Usage(12, 34))
    headers, payload = endpoint.received[0]
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert payload["model"] == "gpt-test"
    assert payload["messages"] == [
        {"role": "system", "content": "You write digests."},
        {"role": "user", "content": "Summarise CSS."},
    ]
    assert (payload["max_tokens"], payload["temperature"], payload["stream"]) == (4096, 0.2, False)


async def test_no_key_means_no_authorization_header(
    endpoint: Endpoint, http: httpx.AsyncClient
) -> None:
    """Local servers (Ollama, vLLM) need no key; none is invented."""
    backend = OpenAICompatBackend(http, base_url=endpoint.url, model="llama3")
    await backend.complete(ask())
    assert "Authorization" not in endpoint.received[0][0]


@pytest.mark.parametrize("status", [408, 500, 502, 503])
async def test_server_side_statuses_are_retryable_breaker_failures(
    endpoint: Endpoint, http: httpx.AsyncClient, status: int
) -> None:
    """408 and 5xx: retry, and count against the breaker."""
    endpoint.actions.append(answer({"error": {"message": "busy"}}, status))
    with pytest.raises(BackendError) as caught:
        await backend_for(endpoint, http).complete(ask())
    error = caught.value
    assert (error.status, error.retryable, error.counts_as_failure) == (status, True, True)
    assert f"HTTP {status}: busy" in str(error)


async def test_a_429_is_rate_limited_retryable_and_not_a_breaker_failure(
    endpoint: Endpoint, http: httpx.AsyncClient
) -> None:
    """429: the endpoint is up but busy; labelled ``rate_limited``, Retry-After kept uncut."""
    endpoint.actions.append(
        answer({"error": {"message": "slow down"}}, 429, **{"Retry-After": "3600"})
    )
    with pytest.raises(RateLimitedError) as caught:
        await backend_for(endpoint, http).complete(ask())
    error = caught.value
    assert (error.status, error.retryable, error.counts_as_failure) == (429, True, False)
    assert (error.outcome, error.retry_after) == ("rate_limited", 3600.0)
    assert "HTTP 429: slow down" in str(error)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_client_errors_are_neither_retried_nor_breaker_failures(
    endpoint: Endpoint, http: httpx.AsyncClient, status: int
) -> None:
    """Other 4xx: the request is wrong, the backend is fine."""
    endpoint.actions.append(answer({"error": {"message": "bad request"}}, status))
    with pytest.raises(BackendError) as caught:
        await backend_for(endpoint, http).complete(ask())
    assert (caught.value.retryable, caught.value.counts_as_failure) == (False, False)


async def test_retry_after_seconds_and_dates_are_passed_on(
    endpoint: Endpoint, http: httpx.AsyncClient
) -> None:
    """429 with ``Retry-After: 3`` → retry_after 3.0; an HTTP date becomes seconds from now."""
    endpoint.actions.append(answer({}, 429, **{"Retry-After": "3"}))
    with pytest.raises(BackendError) as caught:
        await backend_for(endpoint, http).complete(ask())
    assert caught.value.retry_after == 3.0
    endpoint.actions.append(answer({}, 503, **{"Retry-After": formatdate(1000.0 + 7, usegmt=True)}))
    with pytest.raises(BackendError) as caught:
        await backend_for(endpoint, http, wall=lambda: 1000.0).complete(ask())
    assert caught.value.retry_after == pytest.approx(7.0)


def test_retry_after_values_that_are_not_seconds_or_dates_are_ignored() -> None:
    """Garbage or absence → None (the policy's own backoff applies)."""
    assert parse_retry_after(None, 0.0) is None
    assert parse_retry_after("soon", 0.0) is None
    assert parse_retry_after(" 12 ", 0.0) == 12.0


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        json.dumps({"choices": []}).encode(),
        json.dumps({"choices": [{"message": {"content": None}}]}).encode(),
        json.dumps(["not", "an", "object"]).encode(),
    ],
)
async def test_malformed_or_empty_replies_are_backend_errors(
    endpoint: Endpoint, http: httpx.AsyncClient, body: bytes
) -> None:
    """Bad JSON, no choices, no content: a clear BackendError, never a crash."""
    endpoint.actions.append(Action(body=body))
    with pytest.raises(BackendError, match=r"malformed|no usable choice"):
        await backend_for(endpoint, http).complete(ask())


async def test_a_reply_over_the_size_cap_is_refused(
    endpoint: Endpoint, http: httpx.AsyncClient
) -> None:
    """``llm_max_reply_bytes`` bounds what we read."""
    endpoint.actions.append(answer(completion("x" * 5000)))
    with pytest.raises(BackendError, match="larger than 1024 bytes") as caught:
        await backend_for(endpoint, http, max_reply_bytes=1024).complete(ask())
    assert caught.value.retryable is False


async def test_an_http_client_timeout_is_an_llm_timeout(endpoint: Endpoint) -> None:
    """The endpoint hangs; httpx's read timeout surfaces as LLMTimeoutError."""
    endpoint.actions.append(Action(hang=True))
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.2)) as client:
        with pytest.raises(LLMTimeoutError):
            await backend_for(endpoint, client).complete(ask())


async def test_an_unreachable_endpoint_is_a_retryable_failure(http: httpx.AsyncClient) -> None:
    """Connection refused: retry later, count against the breaker."""
    backend = OpenAICompatBackend(http, base_url="http://127.0.0.1:9/v1", model="m")
    with pytest.raises(BackendError, match="unreachable") as caught:
        await backend.complete(ask())
    assert (caught.value.retryable, caught.value.counts_as_failure) == (True, True)


async def test_the_governor_retries_503s_and_cuts_a_hanging_endpoint(
    endpoint: Endpoint, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Real time: 503, 503, 200 succeeds on attempt 3; a hang is cut at the attempt timeout.

    Neither the logs (all loggers, DEBUG), the events nor the error text contain the key.
    """
    caplog.set_level(logging.DEBUG)
    hook = RecordingHook()
    governor = Governor(
        replace(FAST, attempt_timeout=0.3, retry=retrying(3, base=0.01)),
        Telemetry((hook,)),
    )
    backend = backend_for(endpoint, http)
    endpoint.actions += [answer({"error": {"message": f"bad key {API_KEY}"}}, 503)] * 2
    assert (await governor.call(backend, ask())).text == "A digest."
    assert len(endpoint.received) == 3
    endpoint.actions += [Action(hang=True)] * 3
    with pytest.raises(LLMTimeoutError) as caught:
        await governor.call(backend, ask("another prompt"))
    assert outcomes(hook) == ["error", "error", "success", "timeout", "timeout", "timeout"]
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(hook.events)
    assert API_KEY not in str(caught.value)
    assert API_KEY not in repr(backend)


async def test_error_text_from_the_server_is_redacted(
    endpoint: Endpoint, http: httpx.AsyncClient
) -> None:
    """A server that echoes the key in its error message does not leak it through us."""
    endpoint.actions.append(answer({"error": {"message": f"Incorrect API key {API_KEY}"}}, 401))
    with pytest.raises(BackendError) as caught:
        await backend_for(endpoint, http).complete(ask())
    assert API_KEY not in str(caught.value)
    assert "***" in str(caught.value)


async def test_an_endpoint_config_builds_the_backend_without_showing_its_key() -> None:
    """``from_config`` takes the endpoint's URL, model and key; neither repr shows the key."""
    endpoint = OpenAIEndpoint(base_url="http://127.0.0.1:11434/v1", model="llama3", api_key=API_KEY)
    async with httpx.AsyncClient() as client:
        backend = OpenAICompatBackend.from_config(client, endpoint)
        assert (backend.name, backend.model) == ("openai", "llama3")
    assert API_KEY not in repr(endpoint)
    assert API_KEY not in repr(backend)
