"""MCP sampling through an in-memory fastmcp client: conversions, detection, errors, fan-out."""

from dataclasses import replace
from typing import Any

import anyio
import mcp_types
import pytest
from fastmcp import Client, Context, FastMCP
from fastmcp.client.sampling import RequestContext, SamplingMessage, SamplingParams
from fastmcp.exceptions import ToolError
from mcp.types import CreateMessageResult, ImageContent, TextContent

from tests.llm.support import FAST, ask
from webplatform_digest.errors import BackendError, LLMError, SamplingUnavailableError
from webplatform_digest.events import LLMAttempt, RecordingHook, Telemetry
from webplatform_digest.llm.governor import Governor
from webplatform_digest.llm.mcp_sampling import (
    SamplingBackend,
    client_can_sample,
    is_modern_session,
    reply_from_result,
    to_create_message_params,
)
from webplatform_digest.llm.port import LLMRequest, Message
from webplatform_digest.llm.selection import choose_backend


def make_server(governor: Governor) -> FastMCP:
    """A tiny server whose tools use the sampling backend through the governor."""
    server = FastMCP("sampling-test")

    @server.tool
    async def probe(ctx: Context) -> dict[str, Any]:
        """Report what the server detects about the client."""
        return {"can_sample": client_can_sample(ctx), "modern": is_modern_session(ctx)}

    @server.tool
    async def digest(ctx: Context, texts: list[str]) -> list[str]:
        """Ask the client's model once per text, concurrently, through the governor."""
        backend = SamplingBackend.from_context(ctx)
        answers: list[str] = [""] * len(texts)

        async def one(i: int) -> None:
            try:
                request = replace(ask(texts[i]), model_preferences=("claude-sonnet", "gpt-4o"))
                answers[i] = (await governor.call(backend, request)).text
            except LLMError as exc:
                answers[i] = type(exc).__name__

        async with anyio.create_task_group() as group:
            for i in range(len(texts)):
                group.start_soon(one, i)
        return answers

    @server.tool
    async def raw_sample(ctx: Context) -> str:
        """Call the back-channel directly, whatever the era."""
        context = ctx.request_context
        backend = SamplingBackend(
            ctx.session, related_request_id=context.request_id if context else None
        )
        try:
            return (await backend.complete(ask())).text
        except LLMError as exc:
            return type(exc).__name__

    @server.tool
    async def choose(ctx: Context, configured: str, base_url: bool) -> dict[str, str]:
        """Pick the run's backend from what the client can do (reliability case 10)."""
        choice = choose_backend(
            configured,
            client_can_sample=client_can_sample(ctx),
            server_llm_configured=base_url,
            modern_session=is_modern_session(ctx),
        )
        return {"kind": choice.kind, "reason": choice.reason, "flow": choice.flow}

    return server


def text_of(messages: list[SamplingMessage]) -> str:
    """The last message's text."""
    content = messages[-1].content
    assert isinstance(content, TextContent)
    return content.text


class Sampler:
    """A client-side sampling handler that records what it saw and how many ran at once."""

    def __init__(self, *, reject: bool = False, fail: bool = False) -> None:
        self.params: list[SamplingParams] = []
        self.in_flight = 0
        self.peak = 0
        self.reject = reject
        self.fail = fail

    async def __call__(
        self,
        messages: list[SamplingMessage],
        params: SamplingParams,
        context: RequestContext[Any, Any],
    ) -> Any:
        self.params.append(params)
        if self.reject:
            return mcp_types.ErrorData(code=-1, message="User rejected the request")
        if self.fail:
            raise RuntimeError("the host's model is unavailable")
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await anyio.sleep(0.05)
        self.in_flight -= 1
        return CreateMessageResult(
            role="assistant",
            content=TextContent(type="text", text=f"re: {text_of(messages)}"),
            model="client-model",
        )


@pytest.fixture
def governor() -> Governor:
    """A real-time governor allowing five concurrent calls."""
    return Governor(replace(FAST, max_concurrency=5), Telemetry())


def test_requests_convert_to_create_message_params() -> None:
    """System prompt, messages, limits and model hints in order."""
    request = LLMRequest(
        system="sys",
        messages=(Message("user", "q"), Message("assistant", "a"), Message("user", "q2")),
        max_tokens=300,
        temperature=0.7,
        model_preferences=("claude-sonnet", "gpt-4o"),
    )
    params = to_create_message_params(request)
    assert params.system_prompt == "sys"
    assert (params.max_tokens, params.temperature) == (300, 0.7)
    assert [m.role for m in params.messages] == ["user", "assistant", "user"]
    assert params.model_preferences is not None
    assert [h.name for h in params.model_preferences.hints or []] == ["claude-sonnet", "gpt-4o"]
    bare = to_create_message_params(LLMRequest(system="", messages=(Message("user", "q"),)))
    assert (bare.system_prompt, bare.model_preferences) == (None, None)


def test_results_convert_to_replies_and_non_text_is_refused() -> None:
    """Text content becomes the reply; an image is a BackendError."""
    text = CreateMessageResult(
        role="assistant", content=TextContent(type="text", text="hi"), model="m"
    )
    assert (reply_from_result(text).text, reply_from_result(text).model) == ("hi", "m")
    image = CreateMessageResult(
        role="assistant",
        content=ImageContent(type="image", data="AAAA", mime_type="image/png"),
        model="m",
    )
    with pytest.raises(BackendError, match="image"):
        reply_from_result(image)


async def test_detection_tells_sampling_support_and_the_protocol_era(governor: Governor) -> None:
    """Legacy client with a handler: can sample, back-channel era; without: cannot; auto: modern."""
    server = make_server(governor)
    async with Client(server, sampling_handler=Sampler(), mode="legacy") as client:
        assert (await client.call_tool("probe", {})).data == {"can_sample": True, "modern": False}
    async with Client(server, mode="legacy") as client:
        assert (await client.call_tool("probe", {})).data == {"can_sample": False, "modern": False}
    async with Client(server, sampling_handler=Sampler()) as client:
        assert (await client.call_tool("probe", {})).data == {"can_sample": True, "modern": True}


async def test_back_channel_sampling_runs_governed_requests_concurrently(
    governor: Governor,
) -> None:
    """Five requests: answered by the client's model, concurrently, parameters intact."""
    sampler = Sampler()
    hook = RecordingHook()
    governed = Governor(governor.config, Telemetry((hook,)))
    async with Client(make_server(governed), sampling_handler=sampler, mode="legacy") as client:
        result = await client.call_tool("digest", {"texts": [f"t{i}" for i in range(5)]})
    assert result.data == [f"re: t{i}" for i in range(5)]
    assert sampler.peak == 5
    params = sampler.params[0]
    assert (params.system_prompt, params.max_tokens, params.temperature) == (
        "You write digests.",
        4096,
        0.2,
    )
    assert params.model_preferences is not None
    assert [h.name for h in params.model_preferences.hints or []] == ["claude-sonnet", "gpt-4o"]
    events = [e for e in hook.events if isinstance(e, LLMAttempt)]
    assert {(e.backend, e.outcome) for e in events} == {("sampling", "success")}


async def test_a_user_rejection_is_reported_and_not_retried(governor: Governor) -> None:
    """Error code -1 → SamplingRejectedError; no breaker failure."""
    sampler = Sampler(reject=True)
    async with Client(make_server(governor), sampling_handler=sampler, mode="legacy") as client:
        result = await client.call_tool("digest", {"texts": ["t"]})
    assert result.data == ["SamplingRejectedError"]
    assert len(sampler.params) == 1
    assert governor.breaker("sampling").failures == 0


async def test_a_failing_client_model_is_a_backend_failure(governor: Governor) -> None:
    """The client's handler errors → BackendError, counted by the breaker."""
    async with Client(
        make_server(governor), sampling_handler=Sampler(fail=True), mode="legacy"
    ) as client:
        result = await client.call_tool("digest", {"texts": ["t"]})
    assert result.data == ["BackendError"]
    assert governor.breaker("sampling").failures == 1


async def test_sampling_without_a_back_channel_is_unavailable(governor: Governor) -> None:
    """Modern session: ``from_context`` refuses, and a raw attempt maps NoBackChannelError."""
    server = make_server(governor)
    async with Client(server, sampling_handler=Sampler()) as client:
        with pytest.raises(ToolError, match="no back-channel"):
            await client.call_tool("digest", {"texts": ["t"]})
        assert (await client.call_tool("raw_sample", {})).data == "SamplingUnavailableError"


async def test_a_client_without_sampling_falls_back_or_fails_clearly(governor: Governor) -> None:
    """Case 10: auto → openai if configured, else offline; explicit sampling → clear error."""
    async with Client(make_server(governor), mode="legacy") as client:
        openai = await client.call_tool("choose", {"configured": "auto", "base_url": True})
        offline = await client.call_tool("choose", {"configured": "auto", "base_url": False})
        with pytest.raises(ToolError, match="did not declare the sampling capability"):
            await client.call_tool("choose", {"configured": "sampling", "base_url": True})
    assert openai.data["kind"] == "openai"
    assert offline.data["kind"] == "offline"
    assert "WEBPLATFORM_LLM_BASE_URL is not set" in offline.data["reason"]


async def test_a_sampling_client_is_preferred_with_the_right_flow(governor: Governor) -> None:
    """Auto with a sampling client: back-channel on 2025-11-25, input-required on 2026-07-28."""
    server = make_server(governor)
    async with Client(server, sampling_handler=Sampler(), mode="legacy") as client:
        legacy = await client.call_tool("choose", {"configured": "auto", "base_url": True})
    async with Client(server, sampling_handler=Sampler()) as client:
        modern = await client.call_tool("choose", {"configured": "auto", "base_url": True})
    assert (legacy.data["kind"], legacy.data["flow"]) == ("sampling", "back_channel")
    assert (modern.data["kind"], modern.data["flow"]) == ("sampling", "input_required")


def test_sampling_unavailable_is_not_retried_nor_a_failure() -> None:
    """The error a client without sampling produces stops the call at once."""
    error = SamplingUnavailableError("no sampling")
    assert (error.retryable, error.counts_as_failure) == (False, False)
