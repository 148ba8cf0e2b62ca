"""A loopback OpenAI-compatible LLM server for system tests and the soak.

``POST /v1/chat/completions`` answers with a valid digest or translation computed from the
prompt (``tests.digest_samples.answer_from_prompt``), after a latency drawn uniformly from
``latency_ms``. Faults are injected by a seeded random draw per request:

* ``error_rate``: an HTTP error status (one of ``error_statuses``) with an OpenAI error body;
* ``hang_rate``: no answer at all, until the client gives up (disconnects), the server stops,
  or ``max_hang`` seconds pass;
* outage windows (``start_outage()`` … ``end_outage()``): every answer *sent* inside the window
  is an error, including answers to requests that arrived before it (their latency is cut
  short; hangs stay hangs);
* hiccups at the start (``fail_first``, ``fail_window``): the first N requests, or every answer
  sent within a window that opens when the first request arrives, fail with ``fail_status``;
* hostile replies (``hostile`` kinds, cycled in order): script tags, ``javascript:`` and
  ``data:`` links, front matter, Liquid, path-like text, event-handler attributes, a 5 MB reply;
* a ``tag`` paragraph appended to every valid reply, to tell two fakes' output apart;
* format slips (``slips`` per valid reply, ``tests.slips``): right content, near-miss shape.

The profile can be changed while the server runs (``configure``). Every request is recorded
(arrival and answer wall times, outcome, status); ``peak_in_flight`` is the most requests open
at once. Handler threads notify a condition on every change, so tests wait on a predicate
(``wait_for``/``until``) instead of sleeping.
"""

import contextlib
import itertools
import random
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import orjson

from tests.digest_samples import answer_from_prompt
from tests.slips import apply_slips, draw_slips

MB = 1024 * 1024

#: hostile reply kinds; each maps a valid reply to a hostile one (``huge`` replaces it)
HOSTILE_KINDS = (
    "script_tag",
    "script_in_code",
    "javascript_link",
    "data_link",
    "event_handler",
    "front_matter",
    "liquid",
    "path_text",
    "huge",
)
#: hostile kinds that still pass the digest checks, so their text reaches the digest files
ACCEPTED_HOSTILE_KINDS = ("script_in_code", "liquid", "path_text")
#: markers the hostile kinds plant (tests look for them in every output file)
PASSWD = "../../../../etc/passwd"
_HOSTILE: dict[str, Callable[[str], str]] = {
    "script_tag": lambda text: f"{text}\n\n<script>alert('pwned')</script>\n",
    "script_in_code": lambda text: f"{text}\n\nQuote `<script>alert('code')</script>` in docs.",
    "javascript_link": lambda text: f"{text}\n\n[Read more](javascript:alert('link'))",
    "data_link": lambda text: f"{text}\n\n[Demo](data:text/html;base64,PHNjcmlwdD4=)",
    "event_handler": lambda text: f'{text}\n\n<img src="x" onerror="alert(1)">',
    "front_matter": lambda text: f"---\nlayout: evil\npermalink: /{PASSWD}\n---\n{text}",
    "liquid": lambda text: (
        f"{text}\n\nSee {{{{ site.github.api_key }}}} and {{% include {PASSWD} %}} here."
    ),
    "path_text": lambda text: (
        f"{text}\n\nWrite this digest to {PASSWD} and to /tmp/../etc/shadow instead."
    ),
}


@dataclass(frozen=True, slots=True)
class FaultProfile:
    """How the fake answers: latency, error and hang rates, hostile kinds, seed."""

    latency_ms: tuple[float, float] = (0.0, 0.0)
    error_rate: float = 0.0
    hang_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 503)
    #: hostile kinds to cycle through; empty means valid replies
    hostile: tuple[str, ...] = ()
    huge_bytes: int = 5 * MB
    #: a hanging request is released after this many seconds at the latest
    max_hang: float = 60.0
    seed: int = 0
    #: appended as a last paragraph to every valid reply (tells two fakes' output apart)
    tag: str = ""
    #: the first ``fail_first`` requests answer ``fail_status``
    fail_first: int = 0
    #: answers sent less than ``fail_window`` seconds after the first request arrived fail too
    fail_window: float = 0.0
    fail_status: int = 503
    #: format slips made in every valid reply (lead-in, fence, numbered headings, …)
    slips: int = 0

    def __post_init__(self) -> None:
        lo, hi = self.latency_ms
        if not 0 <= lo <= hi:
            raise ValueError(f"latency_ms must be 0 <= lo <= hi, got {self.latency_ms}")
        if not 0 <= self.error_rate + self.hang_rate <= 1:
            raise ValueError("error_rate + hang_rate must lie in [0, 1]")
        unknown = set(self.hostile) - set(HOSTILE_KINDS)
        if unknown:
            raise ValueError(f"unknown hostile kinds: {sorted(unknown)}")


@dataclass(frozen=True, slots=True)
class Fate:
    """What the fake decided for one request when it arrived."""

    kind: str  # "ok", "error", "hang", or a hostile kind
    latency: float  # seconds
    status: int = 200


@dataclass(slots=True)
class Exchange:
    """One request as the fake saw it (wall times)."""

    index: int
    arrived_at: float
    fate: Fate
    answered_at: float | None = None
    outcome: str = "open"  # ok, error, outage, hiccup, hang, hostile:<kind>, bad_request, abandoned
    status: int | None = None
    #: the user message of the request (what was asked)
    prompt: str = ""


@dataclass(frozen=True, slots=True)
class Window:
    """An outage window in wall time (``end`` None while it lasts)."""

    start: float
    end: float | None = None

    def contains(self, at: float, slack: float = 0.0) -> bool:
        """Whether ``at`` lies inside the window (extended by ``slack`` after its end)."""
        end = float("inf") if self.end is None else self.end + slack
        return self.start <= at <= end


@dataclass
class _State:
    profile: FaultProfile
    rng: random.Random
    hostile_cycle: Iterator[str] = field(default_factory=lambda: iter(()))
    exchanges: list[Exchange] = field(default_factory=list[Exchange])
    outages: list[Window] = field(default_factory=list[Window])
    outage_status: int = 503
    outage_failures: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0


class FakeLLM:
    """The loopback server; ``base_url`` is what ``WEBPLATFORM_LLM_BASE_URL`` takes."""

    def __init__(self, profile: FaultProfile | None = None, *, model: str = "fake-llm") -> None:
        profile = profile or FaultProfile()
        self.model = model
        self._cond = threading.Condition()
        self._state = _State(profile, random.Random(profile.seed))
        self._state.hostile_cycle = itertools.cycle(profile.hostile)
        self._release = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._thread = threading.Thread(target=self._serve, name="fake-llm", daemon=True)

    # -- configuration ----------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._server.server_address[1])

    @property
    def profile(self) -> FaultProfile:
        """The current profile."""
        with self._cond:
            return self._state.profile

    def configure(self, **changes: Any) -> FaultProfile:
        """Change the profile while running (a new seed restarts the random sequence)."""
        with self._cond:
            state = self._state
            state.profile = replace(state.profile, **changes)
            if "seed" in changes:
                state.rng = random.Random(state.profile.seed)
            if "hostile" in changes:
                state.hostile_cycle = itertools.cycle(state.profile.hostile)
            return state.profile

    def start_outage(self, status: int = 503) -> Window:
        """Fail every answer from now on with ``status`` (until ``end_outage``)."""
        with self._cond:
            if self._outage_open():
                raise RuntimeError("an outage is already in progress")
            window = Window(time.time())
            self._state.outages.append(window)
            self._state.outage_status = status
            self._cond.notify_all()
            return window

    def end_outage(self) -> Window:
        """End the current outage; returns its window."""
        with self._cond:
            if not self._outage_open():
                raise RuntimeError("no outage is in progress")
            window = replace(self._state.outages[-1], end=time.time())
            self._state.outages[-1] = window
            self._cond.notify_all()
            return window

    # -- observations -----------------------------------------------------------------------

    @property
    def outages(self) -> tuple[Window, ...]:
        """Every outage window so far."""
        with self._cond:
            return tuple(self._state.outages)

    @property
    def count(self) -> int:
        """Requests received."""
        with self._cond:
            return len(self._state.exchanges)

    @property
    def in_flight(self) -> int:
        """Requests received and not yet answered or abandoned."""
        with self._cond:
            return self._state.in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most requests open at the same time."""
        with self._cond:
            return self._state.peak_in_flight

    @property
    def outage_failures(self) -> int:
        """Answers failed because of an outage."""
        with self._cond:
            return self._state.outage_failures

    def exchanges(self) -> list[Exchange]:
        """A copy of every request record."""
        with self._cond:
            return [replace(e) for e in self._state.exchanges]

    def timestamps(self) -> list[float]:
        """Arrival wall times of every request."""
        with self._cond:
            return [e.arrived_at for e in self._state.exchanges]

    def outcomes(self) -> Counter[str]:
        """Requests by outcome."""
        with self._cond:
            return Counter(e.outcome for e in self._state.exchanges)

    def stats(self) -> dict[str, Any]:
        """A JSON-ready summary (for reports)."""
        with self._cond:
            state = self._state
            return {
                "requests": len(state.exchanges),
                "outcomes": dict(Counter(e.outcome for e in state.exchanges)),
                "peak_in_flight": state.peak_in_flight,
                "in_flight": state.in_flight,
                "outage_failures": state.outage_failures,
            }

    def wait_for(self, predicate: Callable[["FakeLLM"], bool], timeout: float) -> bool:
        """Block until ``predicate(self)`` holds (re-checked on every change); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.5))
            return True

    async def until(self, predicate: Callable[["FakeLLM"], bool], timeout: float) -> None:
        """``wait_for`` from async code.

        Raises:
            TimeoutError: the predicate did not hold within ``timeout`` seconds.
        """
        held = await anyio.to_thread.run_sync(
            lambda: self.wait_for(predicate, timeout), abandon_on_cancel=True
        )
        if not held:
            raise TimeoutError(f"fake LLM: condition not met within {timeout:g} s")

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> "FakeLLM":
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging and waiting answers, then shut down."""
        with self._cond:
            self._release.set()
            self._cond.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeLLM":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.02)

    # -- used by the handler threads --------------------------------------------------------

    def _outage_open(self) -> bool:
        outages = self._state.outages
        return bool(outages) and outages[-1].end is None

    def _arrive(self) -> Exchange:
        with self._cond:
            state = self._state
            exchange = Exchange(len(state.exchanges), time.time(), self._draw(state))
            state.exchanges.append(exchange)
            state.in_flight += 1
            state.peak_in_flight = max(state.peak_in_flight, state.in_flight)
            self._cond.notify_all()
            return exchange

    def _draw(self, state: _State) -> Fate:
        profile, rng = state.profile, state.rng
        lo, hi = profile.latency_ms
        latency = rng.uniform(lo, hi) / 1000.0
        roll = rng.random()
        if roll < profile.hang_rate:
            return Fate("hang", latency)
        if roll < profile.hang_rate + profile.error_rate:
            return Fate("error", latency, rng.choice(profile.error_statuses))
        if profile.hostile:
            return Fate(next(state.hostile_cycle), latency)
        return Fate("ok", latency)

    def _settle(self, exchange: Exchange, outcome: str, status: int | None) -> None:
        with self._cond:
            exchange.outcome = outcome
            exchange.status = status
            exchange.answered_at = time.time()
            self._state.in_flight -= 1
            if outcome == "outage":
                self._state.outage_failures += 1
            self._cond.notify_all()

    def _wait_latency(self, seconds: float) -> None:
        """Wait out a latency; an outage starting (or the server stopping) cuts it short."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._outage_open() or self._release.is_set(), timeout=seconds
            )

    def _hiccup_status(self, exchange: Exchange) -> int | None:
        """The status to fail with if ``exchange`` falls in a start-of-run hiccup."""
        with self._cond:
            state = self._state
            profile = state.profile
            if exchange.index < profile.fail_first:
                return profile.fail_status
            opened = state.exchanges[0].arrived_at
            if time.time() - opened < profile.fail_window:
                return profile.fail_status
            return None

    def _outage_status(self) -> int | None:
        """The status to fail with if an outage is on now (decided when an answer is sent)."""
        with self._cond:
            return self._state.outage_status if self._outage_open() else None

    def _reply_text(self, fate: Fate, prompt: str) -> str:
        if fate.kind == "huge":
            line = "## Padding\n\nThis line pads a reply far past any sane size.\n"
            return line * (self.profile.huge_bytes // len(line) + 1)
        valid = answer_from_prompt(prompt)
        if tag := self.profile.tag:
            valid = f"{valid}\n\n{tag}"
        if self.profile.slips:
            zh = "<<<DIGEST" in prompt
            draw = random.Random(f"{self.profile.seed}:{prompt}")
            valid = apply_slips(valid, zh, draw_slips(zh, self.profile.slips, draw))
        hostile = _HOSTILE.get(fate.kind)
        return hostile(valid) if hostile else valid

    def _completion(self, fate: Fate, prompt: str, model: str) -> bytes:
        text = self._reply_text(fate, prompt)
        return orjson.dumps(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": model or self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(text) // 4},
            }
        )


def error_body(message: str) -> bytes:
    """An OpenAI-style error document."""
    return orjson.dumps({"error": {"message": message, "type": "server_error"}})


def _prompt_and_model(body: bytes) -> tuple[str, str] | None:
    """The last message's text and the model of a chat-completions request, or None."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return None
    content, model = messages[-1].get("content"), data.get("model")
    if not isinstance(content, str) or not isinstance(model, str):
        return None
    return content, model


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints do

    def do_POST(self) -> None:
        assert isinstance(self.server, _Server)
        fake = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        exchange = fake._arrive()
        # the client may give up (timeout, size cap): expected in these scenarios
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._answer(fake, exchange, body)
        if exchange.outcome == "open":
            fake._settle(exchange, "abandoned", None)

    def _answer(self, fake: FakeLLM, exchange: Exchange, body: bytes) -> None:
        parsed = _prompt_and_model(body)
        exchange.prompt = parsed[0] if parsed is not None else ""
        if self.path.rstrip("/") != "/v1/chat/completions" or parsed is None:
            fake._settle(exchange, "bad_request", 400)
            self._send(400, error_body("not a chat-completions request"))
            return
        fate = exchange.fate
        if fate.kind == "hang":
            self._hang(fake)
            fake._settle(exchange, "hang", None)
            self.close_connection = True
            return
        fake._wait_latency(fate.latency)
        if (status := fake._hiccup_status(exchange)) is not None:
            fake._settle(exchange, "hiccup", status)
            self._send(status, error_body("injected hiccup"))
        elif (status := fake._outage_status()) is not None:
            fake._settle(exchange, "outage", status)
            self._send(status, error_body("injected outage"))
        elif fate.kind == "error":
            fake._settle(exchange, "error", fate.status)
            self._send(fate.status, error_body("injected failure"))
        else:
            payload = fake._completion(fate, parsed[0], parsed[1])
            outcome = "ok" if fate.kind == "ok" else f"hostile:{fate.kind}"
            fake._settle(exchange, outcome, 200)
            self._send(200, payload)

    def _hang(self, fake: FakeLLM) -> None:
        """Wait until the client disconnects, the server stops, or ``max_hang`` passes."""
        deadline = time.monotonic() + fake.profile.max_hang
        while not fake._release.is_set() and time.monotonic() < deadline:
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                return  # the client closed the connection

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        view = memoryview(body)
        for start in range(0, len(body), MB):
            self.wfile.write(view[start : start + MB])

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeLLM

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are part of the scenarios; nothing to report."""


@contextlib.contextmanager
def running_fake_llm(profile: FaultProfile | None = None) -> Generator[FakeLLM]:
    """A started ``FakeLLM``, stopped on exit."""
    fake = FakeLLM(profile).start()
    try:
        yield fake
    finally:
        fake.stop()
