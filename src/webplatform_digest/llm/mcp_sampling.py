"""MCP sampling: ask the connected client's model (the only ``llm`` module that knows MCP).

* Back-channel era (protocol 2025-11-25): ``SamplingBackend`` sends ``sampling/createMessage``
  over the session (``ctx.session.create_message(..., related_request_id=...)``); the governor
  wraps every request like any other backend.
* Sessionless era (2026-07-28): there is no back-channel; the run driver returns the requests
  as ``InputRequiredResult`` batches. ``to_create_message_params`` and ``reply_from_result``
  are the conversions both eras share.

Detection: ``client_can_sample`` (the client declared the sampling capability; check it first,
a client without it would never answer) and ``is_modern_session`` (which era).
"""

import logging
import warnings

import anyio
from fastmcp import Context
from mcp.server.session import ServerSession
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError, NoBackChannelError
from mcp.types import (
    CreateMessageRequestParams,
    CreateMessageResult,
    ModelHint,
    ModelPreferences,
    RequestId,
    SamplingMessage,
    TextContent,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from webplatform_digest.errors import BackendError, SamplingRejectedError, SamplingUnavailableError
from webplatform_digest.llm.port import LLMReply, LLMRequest

log = logging.getLogger(__name__)

# Back-channel sampling is deprecated only for 2026-07-28 sessions, and this module uses it for
# 2025-11-25 sessions alone; the warning would otherwise reach every stdio host's log.
warnings.filterwarnings(
    "ignore", message=r".*sampling capability is deprecated", category=MCPDeprecationWarning
)

#: JSON-RPC error code a client returns when its user declines a sampling request
USER_REJECTED = -1


def to_create_message_params(request: LLMRequest) -> CreateMessageRequestParams:
    """The ``sampling/createMessage`` parameters for ``request`` (model preferences as hints)."""
    preferences = None
    if request.model_preferences:
        preferences = ModelPreferences(
            hints=[ModelHint(name=name) for name in request.model_preferences]
        )
    return CreateMessageRequestParams(
        messages=[_message(m.role, m.text) for m in request.messages],
        system_prompt=request.system or None,
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        model_preferences=preferences,
    )


def reply_from_result(result: CreateMessageResult) -> LLMReply:
    """The ``LLMReply`` in a client's sampling result.

    Raises:
        BackendError: the client answered with something other than text.
    """
    content = result.content
    if not isinstance(content, TextContent):
        raise BackendError(
            f"the client's model answered with {content.type!r} content instead of text",
            retryable=False,
        )
    return LLMReply(text=content.text, model=result.model)


def client_can_sample(ctx: Context) -> bool:
    """Whether the connected client declared the sampling capability (either era)."""
    try:
        capabilities = ctx.session.client_capabilities
    except RuntimeError:  # no session (e.g. called outside a request)
        return False
    return capabilities is not None and capabilities.sampling is not None


def is_modern_session(ctx: Context) -> bool:
    """Whether the request came over the sessionless 2026-07-28 protocol (no back-channel)."""
    context = ctx.request_context
    return context is not None and context.protocol_version in MODERN_PROTOCOL_VERSIONS


class SamplingBackend:
    """``Backend`` that asks the client's model over the session's back-channel."""

    def __init__(self, session: ServerSession, *, related_request_id: RequestId | None) -> None:
        self._session = session
        self._related = related_request_id

    @classmethod
    def from_context(cls, ctx: Context) -> "SamplingBackend":
        """The backend for the tool call that ``ctx`` belongs to.

        Raises:
            SamplingUnavailableError: the client cannot sample or the session has no back-channel.
        """
        if not client_can_sample(ctx):
            raise SamplingUnavailableError(
                "the connected MCP client did not declare the sampling capability"
            )
        if is_modern_session(ctx):
            raise SamplingUnavailableError(
                "this MCP session (protocol 2026-07-28) has no back-channel for sampling; "
                "use the input-required flow"
            )
        context = ctx.request_context
        related = context.request_id if context is not None else None
        return cls(ctx.session, related_request_id=related)

    @property
    def name(self) -> str:
        """Backend label."""
        return "sampling"

    @property
    def model(self) -> str:
        """Empty: the client picks the model."""
        return ""

    async def complete(self, request: LLMRequest) -> LLMReply:
        """One ``sampling/createMessage`` round trip.

        Raises:
            SamplingRejectedError: the user declined.
            SamplingUnavailableError: no back-channel, or the session is gone.
            BackendError: the client reported another error.
        """
        params = to_create_message_params(request)
        try:
            # deprecated only for 2026-07-28 sessions; this path serves 2025-11-25 ones
            result = await self._session.create_message(  # pyright: ignore[reportDeprecated]
                params.messages,
                max_tokens=params.max_tokens,
                system_prompt=params.system_prompt,
                temperature=params.temperature,
                model_preferences=params.model_preferences,
                related_request_id=self._related,
            )
        except NoBackChannelError:
            raise SamplingUnavailableError(
                "this MCP session has no back-channel for sampling requests"
            ) from None
        except MCPError as exc:
            raise _sampling_error(exc) from None
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            raise SamplingUnavailableError("the MCP client disconnected") from None
        return reply_from_result(result)


def _message(role: str, text: str) -> SamplingMessage:
    return SamplingMessage(
        role="assistant" if role == "assistant" else "user",
        content=TextContent(type="text", text=text),
    )


def _sampling_error(exc: MCPError) -> Exception:
    if exc.code == USER_REJECTED:
        return SamplingRejectedError("the user declined the sampling request")
    detail = " ".join(str(exc.message).split())[:200]
    log.info("sampling request failed: code %s", exc.code)
    return BackendError(f"the client's sampling request failed: {detail}", status=None)
