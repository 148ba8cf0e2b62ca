"""The LLM port: request and reply values and the ``Backend`` protocol every backend implements."""

import hashlib
from dataclasses import dataclass, field
from typing import Literal, Protocol

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message of a request."""

    role: Role
    text: str


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """What a request is for; used for telemetry labels and logs, never sent as prompt text."""

    area: str = ""
    stage: str = ""
    language: str = ""
    run_id: str | None = None
    #: deterministic answer for this request; the offline backend replies with it
    fallback: str = ""


@dataclass(frozen=True, slots=True)
class LLMRequest:
    """A complete, backend-neutral LLM request."""

    system: str
    messages: tuple[Message, ...]
    max_tokens: int = 4096
    temperature: float = 0.2
    model_preferences: tuple[str, ...] = ()
    meta: RequestMeta = field(default_factory=RequestMeta)

    def prompt_digest(self) -> str:
        """A stable hash of everything that determines the reply (not the metadata)."""
        h = hashlib.sha256()
        for part in (
            self.system,
            *(f"{m.role}\x1f{m.text}" for m in self.messages),
            str(self.max_tokens),
            repr(round(self.temperature, 4)),
            "\x1f".join(self.model_preferences),
        ):
            h.update(part.encode("utf-8"))
            h.update(b"\x1e")
        return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage when the backend reports it."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class LLMReply:
    """A backend's answer."""

    text: str
    model: str = ""
    usage: Usage | None = None
    #: True when the governor answered from its reply cache instead of the backend
    cached: bool = False


class Backend(Protocol):
    """Something that can answer an ``LLMRequest``.

    ``name`` is a low-cardinality label (``sampling``, ``openai``, ``offline``, ``scripted``).
    ``model`` is the configured model name used in the reply-cache key ("" if the client picks).
    Implementations raise ``webplatform_digest.errors.LLMError`` subclasses on failure.
    """

    @property
    def name(self) -> str:
        """Backend label."""
        ...

    @property
    def model(self) -> str:
        """Model used for the cache key."""
        ...

    async def complete(self, request: LLMRequest) -> LLMReply:
        """Answer one request."""
        ...
