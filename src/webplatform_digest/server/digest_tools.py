"""The ``webplatform_digest`` and ``get_digest_progress`` tools: names, arguments, docs.

Their signatures are all ``tools/list`` needs; what a call does (backend choice, the digest
machine, both protocol eras) is ``server/digest_flow.py``, imported off the event loop on the
first call.
"""

from typing import Annotated

from fastmcp import Context, FastMCP
from mcp.types import InputRequiredResult
from pydantic import Field

from webplatform_digest.container import Container
from webplatform_digest.server.catalog import register_tool
from webplatform_digest.server.lazy import load
from webplatform_digest.server.results import DigestProgress, DigestResult
from webplatform_digest.server.tool_args import (
    AreaId,
    ChannelArg,
    LanguageArg,
    RunId,
    Version,
    tool_errors,
)

FLOW = "webplatform_digest.server.digest_flow"


def register_digest_tools(mcp: FastMCP, container: Container) -> None:
    """Add ``webplatform_digest`` and ``get_digest_progress`` to ``mcp``."""

    @register_tool(mcp, "webplatform_digest")
    async def webplatform_digest(
        version: Version,
        ctx: Context,
        channel: ChannelArg = "stable",
        focus_areas: Annotated[
            list[AreaId] | None,
            Field(max_length=64, description="Area ids (default: every area with features)"),
        ] = None,
        language: LanguageArg = None,
        use_cache: Annotated[bool, Field(description="Reuse cached LLM replies")] = True,
        overwrite: Annotated[
            bool,
            Field(
                description="Replace model-written digests even where this run only has "
                "deterministic fallbacks (default: keep them)"
            ),
        ] = False,
        resume_run_id: Annotated[
            RunId | None,
            Field(description="Finish this interrupted run instead of starting a new one"),
        ] = None,
    ) -> DigestResult | InputRequiredResult:
        """Write the per-focus-area digests of one processed Chrome release (English, Chinese
        or both) to digest_markdown/areas/<area>/chrome-<v>-<lang>.md. Uses your model when
        you can sample (several requests at once), else the server's LLM, else offline
        deterministic digests. Each area: English draft, checked, one corrective retry,
        then a fallback; the Chinese translation likewise. A model-written digest already
        on disk is kept rather than replaced by a fallback (reported as kept) unless
        overwrite is true. Reports progress; returns a
        summary with the run id (see get_digest_progress). Run process_release_notes
        first. An interrupted run (server stopped) continues with resume_run_id. Takes
        from seconds to minutes depending on the model."""
        await load(FLOW)
        from webplatform_digest.server.digest_flow import DigestCall, DigestFlow

        call = DigestCall(
            version, channel, focus_areas, language, use_cache, overwrite, resume_run_id
        )
        with tool_errors():
            return await DigestFlow(container).call(ctx, call)

    @register_tool(mcp, "get_digest_progress")
    async def get_digest_progress(
        run_id: RunId,
        after_seq: Annotated[int, Field(ge=0, le=10_000_000)] = 0,
        limit: Annotated[int, Field(ge=1, le=500)] = 100,
    ) -> DigestProgress:
        """Status of a digest run (running, awaiting_input, completed, failed, interrupted,
        cancelled), its per-area results and its events after sequence number `after_seq`
        (pass the previous `next_seq` to continue where you left off)."""
        await load(FLOW)
        from webplatform_digest.server.digest_flow import DigestFlow

        with tool_errors():
            return DigestFlow(container).progress(run_id, after_seq, limit)
