"""Shared set-up for the MCP server tests: a workspace with the bundled samples, handlers."""

import shutil
from pathlib import Path
from typing import Any

import anyio
import orjson
from jsonschema import Draft202012Validator
from mcp.types import CreateMessageResult, TextContent, TextResourceContents

from tests.conftest import SAMPLES_DIR
from tests.digest_samples import answer_from_prompt
from webplatform_digest.container import Container
from webplatform_digest.events import RunFinished
from webplatform_digest.server.app import create_server
from webplatform_digest.settings import load_settings

SAMPLE_VERSION = 145


def seed_samples(root: Path) -> None:
    """Copy the bundled sample release notes into ``root/release_notes`` under real names."""
    notes = root / "release_notes"
    notes.mkdir(parents=True, exist_ok=True)
    for sample in (SAMPLES_DIR / "release_notes").glob("*.sample.md"):
        shutil.copyfile(sample, notes / sample.name.replace(".sample", ""))


def make_server(root: Path, **overrides: Any) -> tuple[Any, Container]:
    """A server over a fresh container rooted at ``root`` (fast limits unless overridden)."""
    settings = load_settings(root=root, **({"rate_limit": 1000.0} | overrides))
    container = Container(settings)
    return create_server(container), container


def structured(content: dict[str, Any] | None) -> dict[str, Any]:
    """A tool result's structured content, which must be there."""
    assert content is not None, "the tool result has no structured content"
    return content


def text_of(block: object) -> str:
    """The text of a content block or resource contents, which must be text."""
    assert isinstance(block, TextContent | TextResourceContents), f"not text: {block!r}"
    return block.text


def run_finished(container: Container) -> anyio.Event:
    """An event set when the container's next digest run finishes (any status)."""
    finished = anyio.Event()

    class Hook:
        def handle(self, event: object) -> None:
            if isinstance(event, RunFinished):
                finished.set()

    container.telemetry.add(Hook())
    return finished


class RecordingSampler:
    """A sampling handler that answers valid digests and records what it was asked."""

    def __init__(self, answer: Any = None) -> None:
        self.calls: list[str] = []
        self._answer = answer or answer_from_prompt

    async def __call__(self, messages: Any, params: Any, context: Any) -> CreateMessageResult:
        prompt = messages[-1].content.text
        self.calls.append(prompt)
        return CreateMessageResult(
            role="assistant",
            content=TextContent(type="text", text=self._answer(prompt)),
            model="test-model",
        )


def structured_result(
    output_schema: dict[str, Any] | None, structured: dict[str, Any] | None, text: str
) -> dict[str, Any]:
    """A tool result's structured content, checked against the tool's advertised output
    schema and against the JSON text clients without structured output read."""
    assert output_schema is not None, "the tool advertises no output schema"
    assert output_schema.get("type") == "object"
    Draft202012Validator.check_schema(output_schema)
    assert structured is not None, "the result carries no structured content"
    errors = [e.message for e in Draft202012Validator(output_schema).iter_errors(structured)]
    assert errors == []
    assert orjson.loads(text) == structured
    return structured
