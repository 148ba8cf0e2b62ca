"""Which tools a workspace allows: in a read-only workspace the writing tools are refused.

The server still starts there (reading tools, resources and prompts keep working); it says
which tools are unavailable once on stderr at start, in its initialize instructions, and in
the error of each refused call.
"""

import logging
from typing import Any

from fastmcp.exceptions import ToolError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext

from webplatform_digest.container import Container
from webplatform_digest.server.catalog import TOOLS

log = logging.getLogger(__name__)

#: tools that write the workspace (their annotations say they are not read-only)
WRITING_TOOLS = tuple(spec.name for spec in TOOLS if not spec.annotations.read_only_hint)


def availability_note(container: Container) -> str:
    """One sentence naming the unavailable tools and why ("" when every tool is available)."""
    refusal = container.write_refusal
    if refusal is None:
        return ""
    return (
        f"The workspace {container.settings.workspace.root} cannot be written ({refusal}): "
        f"{', '.join(WRITING_TOOLS)} are unavailable; the other tools, resources and prompts "
        "work."
    )


class WritingToolsRefused(Middleware):
    """Refuses calls of the writing tools, in a workspace this process cannot write."""

    def __init__(self, note: str) -> None:
        self._note = note

    async def on_call_tool(self, context: MiddlewareContext[Any], call_next: CallNext[Any, Any]):
        name = str(getattr(context.message, "name", ""))
        if name in WRITING_TOOLS:
            raise ToolError(f"{name} is unavailable. {self._note}")
        return await call_next(context)


def availability_middleware(container: Container) -> list[Middleware]:
    """The refusing middleware for a read-only workspace (logged once), else nothing."""
    note = availability_note(container)
    if not note:
        return []
    log.warning("%s", note)
    return [WritingToolsRefused(note)]
