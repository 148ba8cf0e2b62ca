"""What a ``webplatform_digest`` call does, on both MCP protocol eras (loaded on its first call).

* The client can sample, protocol 2025-11-25: its model answers over the session's
  back-channel, every request through the governor, up to ``max_concurrency`` at once.
* The client can sample, protocol 2026-07-28 (no back-channel): the tool answers with an
  ``InputRequiredResult`` holding the next batch of sampling requests and a sealed
  ``request_state`` (run id + single-use round token); each re-call feeds the replies in.
* The client cannot sample: the server-side OpenAI-compatible LLM if configured, else the
  deterministic offline backend. A client without the capability never gets input requests.
"""

import logging
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from fastmcp import Context
from mcp.types import (
    CreateMessageRequest,
    CreateMessageResult,
    InputRequest,
    InputRequiredResult,
)

from webplatform_digest.container import Container
from webplatform_digest.digest.machine import Failure, Progress
from webplatform_digest.errors import BackendError, RunStateError
from webplatform_digest.llm.mcp_sampling import (
    SamplingBackend,
    client_can_sample,
    is_modern_session,
    reply_from_result,
    to_create_message_params,
)
from webplatform_digest.llm.port import Backend, LLMReply
from webplatform_digest.llm.selection import BackendChoice, choose_backend, resume_choice
from webplatform_digest.runs.driver import progress_report
from webplatform_digest.runs.request import parse_run_request
from webplatform_digest.runs.session import Round
from webplatform_digest.runs.summary import RunSummary
from webplatform_digest.server.results import (
    DigestProgress,
    DigestResult,
    digest_result,
    progress_result,
)
from webplatform_digest.services.digest import (
    advance_client_rounds,
    check_resumable,
    resume_client_rounds,
    resume_with_backend,
    run_with_backend,
    server_backend,
    start_client_rounds,
    stored_backend,
)

log = logging.getLogger(__name__)

#: a finished run's summary, or the next round of sampling requests (2026-07-28 clients);
#: FastMCP leaves the round out of the output schema and never validates it against it
Outcome = DigestResult | InputRequiredResult


@dataclass(frozen=True, slots=True)
class DigestCall:
    """The validated arguments of one ``webplatform_digest`` call."""

    version: int
    channel: str
    focus_areas: list[str] | None
    language: str | list[str] | None
    use_cache: bool
    overwrite: bool
    resume_run_id: str | None


class DigestFlow:
    """Runs the digest tool's calls over one container."""

    def __init__(self, container: Container) -> None:
        self._c = container

    async def call(self, ctx: Context, request: DigestCall) -> Outcome:
        """One ``webplatform_digest`` call: the next round, a resumed run or a new run."""
        if ctx.request_state is not None or ctx.input_responses is not None:
            return await self.continue_rounds(ctx)
        if request.resume_run_id is not None:
            return await self.resume(ctx, request.resume_run_id, request.version)
        return await self.start(
            ctx,
            request.version,
            request.channel,
            request.focus_areas,
            request.language,
            request.use_cache,
            request.overwrite,
        )

    def progress(self, run_id: str, after_seq: int, limit: int) -> DigestProgress:
        """A ``get_digest_progress`` answer: status, per-area results and events after a seq."""
        return progress_result(progress_report(self._c.run_services(), run_id, after_seq, limit))

    async def start(
        self,
        ctx: Context,
        version: int,
        channel: str,
        focus_areas: list[str] | None,
        language: str | list[str] | None,
        use_cache: bool,
        overwrite: bool = False,
    ) -> Outcome:
        """Validate, choose the backend for this client, and run (or open the first round)."""
        c = self._c
        request = parse_run_request(
            version=version,
            catalog=c.catalog,
            channel=channel,
            focus_areas=focus_areas,
            language=language or c.settings.runs.languages,
            use_cache=use_cache,
            overwrite=overwrite,
        )
        choice = self._choose(ctx)
        sink = _progress_sink(ctx)
        if choice.flow != "input_required":
            backend = await self._backend(choice, ctx)
            summary = await run_with_backend(c, request, backend, on_progress=sink)
            return _summary(summary, choice)
        outcome = await start_client_rounds(c, request, on_progress=sink)
        return self._round_outcome(outcome, choice)

    async def resume(self, ctx: Context, run_id: str, version: int) -> Outcome:
        """Finish an interrupted run with the backend it started with (refused, naming what is
        missing, when that backend is not available to this client and server)."""
        check_resumable(self._c, run_id, version)
        kind, _, _ = stored_backend(self._c, run_id)
        choice = resume_choice(
            run_id,
            kind,
            client_can_sample=client_can_sample(ctx),
            server_llm_configured=bool(self._c.settings.llm.base_url),
            modern_session=is_modern_session(ctx),
        )
        sink = _progress_sink(ctx)
        if choice.flow == "input_required":
            outcome = await resume_client_rounds(self._c, run_id, on_progress=sink)
            return self._round_outcome(outcome, choice)
        backend = await self._backend(choice, ctx)
        summary = await resume_with_backend(self._c, run_id, backend, on_progress=sink)
        return _summary(summary, choice)

    async def continue_rounds(self, ctx: Context) -> Outcome:
        """Feed one round of the client's sampling replies; return the next round or the end."""
        run_id, token = _decode_state(ctx.request_state)
        replies = {
            key: self._reply(response) for key, response in (ctx.input_responses or {}).items()
        }
        outcome = await advance_client_rounds(
            self._c, run_id, token, replies, on_progress=_progress_sink(ctx)
        )
        return self._round_outcome(outcome, None)

    def _choose(self, ctx: Context) -> BackendChoice:
        settings = self._c.settings
        return choose_backend(
            settings.llm.backend,
            client_can_sample=client_can_sample(ctx),
            server_llm_configured=bool(settings.llm.base_url),
            modern_session=is_modern_session(ctx),
        )

    async def _backend(self, choice: BackendChoice, ctx: Context) -> Backend:
        # the first run builds the governor (its reply cache on disk) and, for a server-side
        # LLM, imports the endpoint client: in a worker thread, so the loop never does
        await anyio.to_thread.run_sync(lambda: self._c.governor)
        if choice.kind == "sampling":
            return SamplingBackend.from_context(ctx)
        return await anyio.to_thread.run_sync(server_backend, self._c, choice.kind)

    def _reply(self, response: object) -> LLMReply | Failure:
        if not isinstance(response, CreateMessageResult):
            return Failure("BadReply", f"expected a sampling result, got {type(response).__name__}")
        try:
            reply = reply_from_result(response)
        except BackendError as exc:  # non-text content costs that request only
            return Failure.from_exception(exc)
        if len(reply.text.encode("utf-8")) > self._c.settings.llm.max_reply_bytes:
            return Failure("ReplyTooLarge", "the client's reply exceeded the size cap")
        return reply

    def _round_outcome(self, outcome: Round | RunSummary, choice: BackendChoice | None) -> Outcome:
        if isinstance(outcome, RunSummary):
            return _summary(outcome, choice)
        requests: dict[str, InputRequest] = {
            pending.request_id: CreateMessageRequest(
                method="sampling/createMessage", params=to_create_message_params(pending.request)
            )
            for pending in outcome.requests
        }
        state = orjson.dumps({"run_id": outcome.run_id, "token": outcome.token}).decode()
        return InputRequiredResult(
            result_type="input_required", input_requests=requests, request_state=state
        )


def _summary(summary: RunSummary, choice: BackendChoice | None) -> DigestResult:
    # a run finished by the rounds flow only ever used the client's model (no choice left)
    if choice is None:
        return digest_result(summary.to_json(), "sampling", None)
    return digest_result(summary.to_json(), choice.kind, choice.reason)


def _decode_state(state: str | None) -> tuple[str, str]:
    """Run id and round token from ``request_state`` (sealed by FastMCP; still checked here)."""
    try:
        raw = orjson.loads(state or "")
        run_id, token = raw["run_id"], raw["token"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise RunStateError("the request_state of this digest round is not valid") from None
    if not isinstance(run_id, str) or not isinstance(token, str):
        raise RunStateError("the request_state of this digest round is not valid")
    return run_id, token


def _progress_sink(ctx: Context) -> Any:
    async def report(progress: Progress) -> None:
        await ctx.report_progress(progress.completed, progress.total, progress.message)

    return report
