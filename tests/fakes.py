"""Fakes we write ourselves: a controllable clock and a scripted LLM backend."""

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from webplatform_digest.llm.port import LLMReply, LLMRequest


class FakeClock:
    """Monotonic time that moves only when advanced; sleepers wake when time passes them.

    ``await clock.sleep(d)`` parks the caller until ``now`` reaches its deadline. Who moves time:

    * autojump (default): when every other task of the event loop is blocked, time jumps to the
      earliest sleeper's deadline and wakes it (a helper task does this while anyone sleeps). A
      lone sleeper returns at once with ``now`` advanced by ``d``; concurrent sleepers overlap as
      real ones do (ten 1 s sleeps started together end at +1 s, not +10 s). A per-attempt
      timeout is therefore just a sleeper racing the backend.
    * manual (``autojump=False``): sleepers stay parked until the test calls ``advance``
      (or ``await run_for``); ``await settle()`` lets woken tasks run until all are blocked.

    "Blocked" means: no ready callbacks in the loop and every other task waits on a pending
    future (checked over a few loop turns). ``sleeps`` records every requested delay in call order.
    """

    def __init__(self, start: float = 1000.0, *, autojump: bool = True) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self.autojump = autojump
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def __call__(self) -> float:
        return self.now

    @property
    def sleeping(self) -> int:
        """Tasks currently parked in ``sleep``."""
        return sum(1 for _, _, fut in self._waiters if not fut.done())

    def advance(self, seconds: float) -> None:
        """Move time forward and wake the sleepers whose deadline has passed."""
        self.now += seconds
        self._wake_due()

    async def sleep(self, seconds: float) -> None:
        """Record the delay and wait until time (advanced or autojumped) reaches it."""
        self.sleeps.append(seconds)
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._waiters, (self.now + seconds, next(self._order), fut))
        if self.autojump and (self._driver is None or self._driver.done()):
            self._driver = loop.create_task(self._drive())
        try:
            await fut
        finally:
            fut.cancel()  # no-op when woken; marks the entry dead when cancelled

    async def settle(self) -> None:
        """Return once every other task is blocked (woken tasks have run as far as they can)."""
        me = asyncio.current_task()
        assert me is not None
        _SETTLERS.add(me)
        try:
            confirmed = 0
            while confirmed < _IDLE_CONFIRMATIONS:
                await asyncio.sleep(0)
                confirmed = confirmed + 1 if self._loop_idle() else 0
        finally:
            _SETTLERS.discard(me)

    async def run_for(self, seconds: float) -> None:
        """Manual mode: advance ``seconds`` in steps, letting each woken sleeper run in order."""
        target = self.now + seconds
        await self.settle()
        while (head := self._next_deadline()) is not None and head <= target:
            self.now = max(self.now, head)
            self._wake_due()
            await self.settle()
        self.now = target
        self._wake_due()
        await self.settle()

    async def quiesce(self) -> None:
        """Wait until nobody sleeps and the autojump helper task has finished."""
        await self.settle()
        if self._driver is not None:
            await self._driver

    def is_helper(self, task: "asyncio.Task[object]") -> bool:
        """Whether ``task`` is this clock's autojump helper (for leftover-task checks)."""
        return task is self._driver

    async def _drive(self) -> None:
        while True:
            await self.settle()
            head = self._next_deadline()
            if head is None:
                return
            self.now = max(self.now, head)
            self._wake_due()

    def _next_deadline(self) -> float | None:
        while self._waiters and self._waiters[0][2].done():
            heapq.heappop(self._waiters)
        return self._waiters[0][0] if self._waiters else None

    def _wake_due(self) -> None:
        while self._waiters and self._waiters[0][0] <= self.now:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)

    def _loop_idle(self) -> bool:
        # other settlers spin with sleep(0): each keeps exactly one step queued, nothing else may be
        loop = asyncio.get_running_loop()
        if len(getattr(loop, "_ready", ())) > len(_SETTLERS) - 1:
            return False
        for task in asyncio.all_tasks(loop):
            if task in _SETTLERS:
                continue
            waiter = getattr(task, "_fut_waiter", None)
            if waiter is None or waiter.done():
                return False
        return True


#: tasks spinning in ``FakeClock.settle`` (of any clock: two clocks in one loop must not livelock)
_SETTLERS: set["asyncio.Task[object]"] = set()
#: consecutive idle observations before time may jump (a cancellation is delivered by a
#: callback scheduled one loop turn later; waiting a few turns makes the idle check robust)
_IDLE_CONFIRMATIONS = 3


class Hang:
    """A script step that never answers (until the caller is cancelled)."""


#: the step value for a backend that hangs
HANG = Hang()

Step = LLMReply | str | Exception | Hang
Script = Callable[[LLMRequest], Step]


@dataclass
class ScriptedBackend:
    """An LLM backend that answers from a script: a function of the request, or a list of steps.

    Each step is an ``LLMReply``, a ``str`` (reply text), an exception to raise, or ``HANG``.
    With ``clock`` and ``latency`` set, every call first sleeps ``latency`` on that clock.
    ``in_flight``/``peak`` count concurrent calls.
    """

    steps: list[Step] = field(default_factory=list)
    script: Script | None = None
    name: str = "scripted"
    model: str = "scripted-model"
    calls: list[LLMRequest] = field(default_factory=list)
    clock: FakeClock | None = None
    latency: float = 0.0
    in_flight: int = 0
    peak: int = 0

    async def complete(self, request: LLMRequest) -> LLMReply:
        """Answer the next scripted step."""
        self.calls.append(request)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: LLMRequest) -> LLMReply:
        if self.clock is not None and self.latency > 0:
            await self.clock.sleep(self.latency)
        else:
            await anyio.lowlevel.checkpoint()
        step: Step
        if self.script is not None:
            step = self.script(request)
        elif self.steps:
            step = self.steps.pop(0)
        else:
            step = LLMReply(text="", model=self.model)
        if isinstance(step, Hang):
            await anyio.sleep_forever()
        if isinstance(step, Exception):
            raise step
        if isinstance(step, str):
            return LLMReply(text=step, model=self.model)
        assert isinstance(step, LLMReply)
        return step
