"""Fakes we write ourselves: a controllable clock and a scripted LLM backend."""

from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from webplatform_digest.llm.port import LLMReply, LLMRequest


class FakeClock:
    """Monotonic time that moves only when advanced; ``sleep`` advances instead of waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the delay, advance time, and yield to the event loop once."""
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await anyio.lowlevel.checkpoint()


Script = Callable[[LLMRequest], LLMReply | Exception]


@dataclass
class ScriptedBackend:
    """An LLM backend that answers from a script: a function of the request, or a list of steps.

    Each step is an ``LLMReply``, a ``str`` (reply text), or an exception to raise.
    """

    steps: list[LLMReply | str | Exception] = field(default_factory=list)
    script: Script | None = None
    name: str = "scripted"
    model: str = "scripted-model"
    calls: list[LLMRequest] = field(default_factory=list)

    async def complete(self, request: LLMRequest) -> LLMReply:
        """Answer the next scripted step."""
        self.calls.append(request)
        await anyio.lowlevel.checkpoint()
        step: LLMReply | str | Exception
        if self.script is not None:
            step = self.script(request)
        elif self.steps:
            step = self.steps.pop(0)
        else:
            step = LLMReply(text="", model=self.model)
        if isinstance(step, Exception):
            raise step
        if isinstance(step, str):
            return LLMReply(text=step, model=self.model)
        return step
