"""The one list of MCP tools: name, behaviour hints and tags.

Registration goes through ``register_tool(mcp, name)``, so a tool missing from this list cannot be
registered; metrics labels, the docs test and the listing tests read ``TOOL_NAMES``.
"""

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastmcp import FastMCP
from fastmcp.tools import FunctionTool
from fastmcp.utilities.json_schema import dereference_refs
from mcp.types import ToolAnnotations

from webplatform_digest.server.tool_args import LOCAL_WRITE, NETWORK_READ, NETWORK_WRITE, READ_ONLY


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """How one tool is advertised."""

    name: str
    annotations: ToolAnnotations
    tags: frozenset[str]


TOOLS = (
    ToolSpec("process_release_notes", LOCAL_WRITE, frozenset({"pipeline"})),
    ToolSpec("webplatform_digest", LOCAL_WRITE, frozenset({"digest"})),
    ToolSpec("get_digest_progress", READ_ONLY, frozenset({"digest"})),
    ToolSpec("generate_github_pages", LOCAL_WRITE, frozenset({"pages"})),
    ToolSpec("list_focus_areas", READ_ONLY, frozenset({"pipeline"})),
    ToolSpec("check_latest_releases", NETWORK_READ, frozenset({"monitor"})),
    ToolSpec("fetch_release_notes", NETWORK_WRITE, frozenset({"monitor"})),
    ToolSpec("telemetry_summary", READ_ONLY, frozenset({"telemetry"})),
    ToolSpec("search_features", READ_ONLY, frozenset({"search"})),
)
TOOL_NAMES = tuple(spec.name for spec in TOOLS)
_BY_NAME = {spec.name: spec for spec in TOOLS}


def register_tool(mcp: FastMCP, name: str) -> Callable[[Callable[..., Any]], Any]:
    """The decorator registering the function as the catalogued tool ``name``, described by
    its docstring.

    Raises:
        KeyError: ``name`` is not in the catalogue.
    """
    spec = _BY_NAME[name]

    def register(function: Callable[..., Any]) -> Any:
        # fastmcp would parse a docstring with griffe (~60 ms of imports before the server
        # can answer) to split off Args/Returns sections; a tool docstring has none, so it is
        # handed over as the description as it stands
        description = inspect.getdoc(function)
        function.__doc__ = None
        tool = FunctionTool.from_function(
            function,
            name=spec.name,
            description=description,
            annotations=spec.annotations,
            tags=set(spec.tags),
        )
        mcp.add_tool(_inlined(tool))
        return function

    return register


def _inlined(tool: FunctionTool) -> FunctionTool:
    """The tool with its schemas' ``$ref``s inlined, as clients are sent them.

    fastmcp inlines them on every ``tools/list`` (some clients cannot follow a ``$ref``);
    done once here, a listing finds nothing left to inline and answers in a few milliseconds.
    """
    updates: dict[str, object] = {"parameters": dereference_refs(tool.parameters)}
    if tool.output_schema is not None:
        updates["output_schema"] = dereference_refs(tool.output_schema)
    return tool.model_copy(update=updates)
