"""What every MCP tool shares: argument types, annotations, and the domain-error mapping.

The list of tools itself is ``server.catalog``.
"""

import contextlib
from collections.abc import Generator
from typing import Annotated, Literal

from fastmcp.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BeforeValidator, Field, ValidationError

from webplatform_digest.errors import WebplatformError


def _no_boolean(value: object) -> object:
    # JSON true would otherwise pass as the integer 1
    if isinstance(value, bool):
        raise ValueError("must be a Chrome milestone number such as 144, not true or false")
    return value


#: the schema clients see (the validator before it takes any JSON value)
_Milestone = Annotated[int, Field(ge=1, le=999)]
Version = Annotated[
    int,
    BeforeValidator(_no_boolean, json_schema_input_type=_Milestone),
    Field(ge=1, le=999, description="Chrome milestone, e.g. 144"),
]
OptionalVersion = Annotated[
    Version | None, Field(description="Chrome milestone (omitted: every release or page)")
]
ChannelArg = Annotated[Literal["stable", "beta"], Field(description="Release channel")]
LanguageCode = Annotated[str, Field(min_length=2, max_length=16, description="Language code")]
LanguageArg = Annotated[
    str | list[LanguageCode] | None,
    Field(
        description="Digest language(s): a code (en, zh, zh-TW, ja, ko, es, pt-BR), a list or "
        "comma-separated codes, or bilingual (= en,zh); default WEBPLATFORM_LANGUAGES "
        "(bilingual)"
    ),
]
AreaId = Annotated[str, Field(min_length=1, max_length=64, description="Focus-area id")]
OptionalAreaId = Annotated[
    str | None, Field(min_length=1, max_length=64, description="Focus-area id, e.g. css")
]
SearchText = Annotated[
    str, Field(max_length=200, description="Words that must all appear (any case); may be empty")
]
Limit = Annotated[int, Field(ge=1, le=500, description="At most this many features (1-500)")]
RunId = Annotated[
    str, Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="Run id")
]

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
LOCAL_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
NETWORK_READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True)
NETWORK_WRITE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)


@contextlib.contextmanager
def tool_errors() -> Generator[None]:
    """Turn domain errors into ``ToolError``s whose text the client (and its model) can act on."""
    try:
        yield
    except WebplatformError as exc:
        raise ToolError(str(exc)) from exc


def plain_argument_error(exc: ValidationError) -> ToolError:
    """Argument validation as one line a person reads: ``invalid arguments: version: ...``.

    Pydantic's own text spans lines and links to its documentation; a client shows it as is.
    """
    problems: list[str] = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return ToolError("invalid arguments: " + "; ".join(problems))
