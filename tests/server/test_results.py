"""Tool results: typed models with an output schema, carrying the JSON the domain values make."""

from pathlib import Path
from typing import Any

import orjson
import pytest
from fastmcp import Client
from mcp.types import CallToolResult, InputRequiredResult, InputResponses, Tool
from pydantic import BaseModel, ValidationError

from tests.fakes import FakeClock
from tests.server_support import (
    SAMPLE_VERSION,
    RecordingSampler,
    make_server,
    seed_samples,
    structured_result,
)
from tests.site_server import expected_pages, running_site
from tests.telemetry.run_events import simulated_run_events
from webplatform_digest.models import Channel
from webplatform_digest.monitor.results import FetchResult, LatestRelease, LatestReleases
from webplatform_digest.releases.page import Track
from webplatform_digest.runs.summary import RunSummary
from webplatform_digest.server import results
from webplatform_digest.server.catalog import TOOL_NAMES
from webplatform_digest.services.pages import PagesSummary
from webplatform_digest.services.process import ProcessSummary
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.telemetry.jsonl import JsonlHook, telemetry_path
from webplatform_digest.telemetry.report import summarise_workspace

ERAS = [pytest.param("legacy", id="2025-11-25"), pytest.param("auto", id="2026-07-28")]
DIGEST_ARGS = {"version": SAMPLE_VERSION, "focus_areas": ["css"], "use_cache": False}


def _same_json(model: BaseModel, source: dict[str, Any]) -> bool:
    """Byte-equal JSON: the same keys in the same order, the same values and number types."""
    return model.model_dump_json().encode() == orjson.dumps(source)


class Checked:
    """Checks each result of an in-memory client against its tool's output schema."""

    def __init__(self, client: Client[Any], tools: dict[str, Tool]) -> None:
        self.client = client
        self.tools = tools
        self.called: set[str] = set()

    async def call(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        result = await self.client.call_tool(name, args)
        self.called.add(name)
        text = result.content[0].text  # type: ignore[union-attr]
        return structured_result(self.tools[name].output_schema, result.structured_content, text)


@pytest.mark.parametrize("mode", ERAS)
async def test_every_tool_advertises_an_object_output_schema(tmp_path: Path, mode: str) -> None:
    """tools/list gives each tool a typed object schema, never FastMCP's ``result`` wrapper."""
    server, _ = make_server(tmp_path)
    async with Client(server, mode=mode) as client:
        tools = {t.name: t for t in await client.list_tools()}
    for name in TOOL_NAMES:
        schema = tools[name].output_schema
        assert schema is not None, name
        assert schema["type"] == "object", name
        assert "x-fastmcp-wrap-result" not in schema, name
        assert "properties" in schema or "anyOf" in schema, name
    assert tools["webplatform_digest"].output_schema["properties"]["run_id"]["type"] == "string"  # type: ignore[index]


@pytest.mark.parametrize("mode", ERAS)
async def test_every_tool_result_validates_against_its_output_schema(
    tmp_path: Path, mode: str
) -> None:
    """Each tool, each result shape: structured content matching the schema and the text."""
    seed_samples(tmp_path)
    sampler = RecordingSampler()
    with running_site() as site:
        for page in expected_pages():
            site.page(page.path, page.fixture)
        site.page("/release-notes", "release-notes-index.html")
        site.page("/blog", "blog-index.html")
        stable = next(p for p in expected_pages() if p.track == "stable")
        server, _ = make_server(tmp_path, monitor_base_url=site.base_url)
        async with Client(server, sampling_handler=sampler, mode=mode) as client:
            checked = Checked(client, {t.name: t for t in await client.list_tools()})
            one = await checked.call("process_release_notes", {"version": SAMPLE_VERSION})
            every = await checked.call("process_release_notes", {"all": True})
            first = await checked.call("webplatform_digest", DIGEST_ARGS)
            second = await checked.call("webplatform_digest", DIGEST_ARGS)
            progress = await checked.call("get_digest_progress", {"run_id": first["run_id"]})
            await checked.call("list_focus_areas", {})
            await checked.call("generate_github_pages", {"html": True})
            await checked.call("search_features", {"query": "css", "since": SAMPLE_VERSION})
            await checked.call("check_latest_releases", {"channel": "all"})
            await checked.call("fetch_release_notes", {"version": stable.version})
            whole = await checked.call("telemetry_summary", {})
            single = await checked.call("telemetry_summary", {"run_ids": [first["run_id"]]})
            compared = await checked.call(
                "telemetry_summary", {"run_ids": [first["run_id"], second["run_id"]]}
            )
    assert checked.called == set(TOOL_NAMES)
    assert one["version"] == SAMPLE_VERSION
    assert [r["version"] for r in every["releases"]] == [SAMPLE_VERSION, SAMPLE_VERSION + 1]
    assert first["backend"] == "sampling"
    assert sampler.calls
    assert progress["run"]["status"] == "completed"
    assert "source" in whole
    assert single["run_id"] == first["run_id"]
    assert set(compared) == {"before", "after", "comparison", "source"}


async def test_modern_rounds_carry_no_structured_content_until_the_final_result(
    tmp_path: Path,
) -> None:
    """2026-07-28: every intermediate round is an input request (nothing to validate); the run
    seen in between and the final summary match their schemas, the final without
    ``backend_reason`` as before."""
    seed_samples(tmp_path)
    server, container = make_server(tmp_path)
    sampler = RecordingSampler()
    async with Client(server, sampling_handler=sampler) as client:
        tools = {t.name: t for t in await client.list_tools()}
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        session = client.session
        outcome = await session.call_tool(
            "webplatform_digest", DIGEST_ARGS, allow_input_required=True
        )
        rounds: list[InputRequiredResult] = []
        while isinstance(outcome, InputRequiredResult):
            rounds.append(outcome)
            run_id = container.runs.list_runs()[0].run_id  # request_state is sealed
            between = await client.call_tool("get_digest_progress", {"run_id": run_id})
            schema = tools["get_digest_progress"].output_schema
            text = between.content[0].text  # type: ignore[union-attr]
            page = structured_result(schema, between.structured_content, text)
            assert page["run"]["status"] == "awaiting_input"
            responses: InputResponses = {
                key: await sampler([req.params.messages[-1]], req.params, None)  # type: ignore[union-attr]
                for key, req in (outcome.input_requests or {}).items()
            }
            outcome = await session.call_tool(
                "webplatform_digest",
                DIGEST_ARGS,
                input_responses=responses,
                request_state=outcome.request_state,
                allow_input_required=True,
            )
    assert len(rounds) == 2  # the English draft, then its translation
    assert all(r.result_type == "input_required" for r in rounds)
    assert all(not hasattr(r, "structured_content") for r in rounds)
    assert isinstance(outcome, CallToolResult)
    text = outcome.content[0].text  # type: ignore[union-attr]
    final = structured_result(
        tools["webplatform_digest"].output_schema, outcome.structured_content, text
    )
    assert final["backend"] == "sampling"
    assert "backend_reason" not in final
    assert final["areas"] == {"css": {"en": "ok", "zh": "ok"}}


def test_the_models_keep_the_domain_json_byte_for_byte() -> None:
    """Key order, values and number types are those of ``to_json``/``to_dict``."""
    processed = ProcessSummary(
        version=145,
        channel=Channel.STABLE,
        areas=(("css", 3), ("javascript", 1)),
        features_total=4,
        links_total=9,
        unclassified=("Odd feature",),
        written=("processed/areas/css/chrome-145-stable.yml",),
        webgpu_features=0,
        source_hash="abc",
    ).to_json()
    pages = PagesSummary(pages=3, written=2, unchanged=1, removed=0, wall_seconds=0.25).to_json()
    latest = LatestReleases(
        releases=(
            LatestRelease(Track.STABLE, 145, "https://x/145", present=True, found_by="listing"),
            LatestRelease(Track.WEBGPU, None, None, error="no post found"),
        ),
        checked_at="2026-01-01T00:00:00Z",
    ).to_dict()
    fetched = FetchResult(
        Track.BETA, 146, "failed", "release_notes/chrome-146-beta.md", "u", status=503
    ).to_dict()
    run = RunSummary(
        run_id="run-1",
        version=145,
        channel="stable",
        areas={"css": {"en": "ok", "zh": "retried"}},
        llm_calls=3,
        cache_hits=1,
        fallbacks=0,
        wall_seconds=1.5,
        status="interrupted",
        reason="the server stopped",
    ).to_json()
    assert _same_json(results.process_result(processed), processed)
    assert _same_json(results.process_all_result([processed]), {"releases": [processed]})
    assert _same_json(results.PagesResult.model_validate(pages), pages)
    assert _same_json(results.LatestReleases.model_validate(latest), latest)
    assert _same_json(results.FetchResult.model_validate(fetched), fetched)
    with_backend = run | {"backend": "openai", "backend_reason": "configured"}
    assert _same_json(results.digest_result(run, "openai", "configured"), with_backend)


def test_absent_keys_stay_absent_rather_than_null() -> None:
    """No ``reason`` for a completed run; no ``backend_reason`` for a run the rounds finished."""
    run = RunSummary("run-1", 145, "stable", {}, 0, 0, 0, 0.5).to_json()
    finished_by_rounds = results.digest_result(run, "sampling", None)
    assert _same_json(finished_by_rounds, run | {"backend": "sampling"})
    assert "reason" not in orjson.loads(finished_by_rounds.model_dump_json())


def test_the_three_telemetry_shapes_keep_the_summary_json(workspace: Workspace) -> None:
    """Whole workspace, one run, two runs compared: each its own model, the same JSON."""
    with JsonlHook(
        telemetry_path(workspace), max_bytes=1 << 24, backups=1, wall=FakeClock(1e9)
    ) as hook:
        for run_id in ("run-a", "run-b"):
            for event in simulated_run_events(run_id, ("css", "javascript", "webgpu")):
                hook.handle(event)
    for runs, model in (
        ((), results.WorkspaceTelemetry),
        (("run-a",), results.RunTelemetry),
        (("run-a", "run-b"), results.ComparedTelemetry),
    ):
        summary = summarise_workspace(workspace, None, runs)
        result = results.telemetry_result(summary)
        assert type(result) is model
        assert _same_json(result, summary)


def test_a_key_the_model_does_not_declare_is_refused() -> None:
    """A domain value growing a key fails loudly instead of drifting from the schema."""
    pages = PagesSummary(1, 1, 0, 0, 0.1).to_json()
    with pytest.raises(ValidationError, match="extra"):
        results.PagesResult.model_validate(pages | {"surprise": 1})
