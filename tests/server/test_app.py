"""The MCP surface through the in-memory client, on both protocol eras."""

from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from fastmcp import Client
from fastmcp.exceptions import ToolError
from mcp.types import (
    BlobResourceContents,
    CallToolResult,
    CreateMessageRequest,
    InputRequiredResult,
    InputResponses,
    TextContent,
    TextResourceContents,
)

from tests.digest_samples import answer_from_prompt
from tests.server_support import (
    SAMPLE_VERSION,
    RecordingSampler,
    make_server,
    run_finished,
    seed_samples,
    structured,
    text_of,
)
from tests.site_server import expected_pages, running_site
from webplatform_digest.digest.files import parse_digest_file
from webplatform_digest.server.catalog import TOOL_NAMES

ERAS = [pytest.param("legacy", id="2025-11-25"), pytest.param("auto", id="2026-07-28")]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A workspace holding the bundled sample release notes."""
    seed_samples(tmp_path)
    return tmp_path


def _text(contents: list[TextResourceContents | BlobResourceContents]) -> str:
    """The text of a resource that must be text."""
    first = contents[0]
    assert isinstance(first, TextResourceContents)
    return first.text


def _digests(root: Path) -> list[Path]:
    return sorted((root / "digest_markdown" / "areas").glob("*/*.md"))


@pytest.mark.parametrize("mode", ERAS)
async def test_every_tool_is_listed_with_annotations_and_bounded_arguments(
    root: Path, mode: str
) -> None:
    """Each tool advertises hints and a schema that bounds versions and list lengths."""
    server, _ = make_server(root)
    async with Client(server, mode=mode) as client:
        tools = {t.name: t for t in await client.list_tools()}
    assert set(tools) == set(TOOL_NAMES)
    listing, digest = tools["list_focus_areas"].annotations, tools["webplatform_digest"].annotations
    assert listing is not None
    assert digest is not None
    assert listing.read_only_hint is True
    assert digest.read_only_hint is False
    schema = tools["webplatform_digest"].input_schema["properties"]
    assert schema["version"]["maximum"] == 999
    focus = schema["focus_areas"]["anyOf"][0]
    assert focus["maxItems"] == 64
    assert focus["items"]["maxLength"] == 64
    assert "ctx" not in schema


@pytest.mark.parametrize("mode", ERAS)
async def test_a_sampling_client_gets_bilingual_digests_written_from_its_own_model(
    root: Path, mode: str
) -> None:
    """Process, then digest with the client's model: every area has EN and ZH files, all ok."""
    server, _ = make_server(root)
    sampler = RecordingSampler()
    async with Client(server, sampling_handler=sampler, mode=mode) as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        result = await client.call_tool(
            "webplatform_digest", {"version": SAMPLE_VERSION, "focus_areas": ["css", "javascript"]}
        )
    summary = result.structured_content
    assert summary is not None
    assert summary["backend"] == "sampling"
    assert summary["areas"] == {
        "css": {"en": "ok", "zh": "ok"},
        "javascript": {"en": "ok", "zh": "ok"},
    }
    assert len(sampler.calls) == 4
    written = [parse_digest_file(p.read_bytes()) for p in _digests(root)]
    assert {(d.area, d.language.value) for d in written} == {
        ("css", "en"),
        ("css", "zh"),
        ("javascript", "en"),
        ("javascript", "zh"),
    }
    assert all(d.backend == "sampling" for d in written)


@pytest.mark.parametrize("mode", ERAS)
async def test_a_client_without_sampling_gets_offline_digests_and_no_input_request(
    root: Path, mode: str
) -> None:
    """Without the sampling capability the run never asks the client (it would hang)."""
    server, _ = make_server(root)
    async with Client(server, mode=mode) as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        with anyio.fail_after(30):
            result = await client.call_tool(
                "webplatform_digest", {"version": SAMPLE_VERSION, "language": "en"}
            )
    summary = result.structured_content
    assert summary is not None
    assert summary["backend"] == "offline"
    assert summary["areas"]
    assert all(set(v) == {"en"} for v in summary["areas"].values())
    written = {p.parent.name for p in _digests(root)}
    assert written == set(summary["areas"])


@pytest.mark.parametrize("mode", ERAS)
async def test_a_later_run_without_a_model_keeps_the_model_digests_unless_told_to_overwrite(
    root: Path, mode: str
) -> None:
    """The client's model wrote css; a client that cannot sample keeps those files (``kept``);
    ``overwrite`` replaces them with the offline digests."""
    server, _ = make_server(root)
    args: dict[str, Any] = {"version": SAMPLE_VERSION, "focus_areas": ["css"]}
    async with Client(server, sampling_handler=RecordingSampler(), mode=mode) as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        await client.call_tool("webplatform_digest", args)
    model_files = {p: p.read_bytes() for p in _digests(root)}
    async with Client(server, mode=mode) as client:
        kept = structured((await client.call_tool("webplatform_digest", args)).structured_content)
        assert {p: p.read_bytes() for p in _digests(root)} == model_files
        again = await client.call_tool("webplatform_digest", args | {"overwrite": True})
    replaced = structured(again.structured_content)
    assert kept["areas"] == {"css": {"en": "kept", "zh": "kept"}}
    assert kept["backend"] == "offline"
    assert kept["fallbacks"] == 0
    assert "kept the model digest" in kept["kept"]["css"]["zh"]
    assert replaced["areas"] == {"css": {"en": "fallback", "zh": "fallback"}}
    assert all(parse_digest_file(p.read_bytes()).backend != "sampling" for p in _digests(root))


@pytest.mark.parametrize("mode", ERAS)
async def test_an_unchanged_rerun_is_answered_from_the_cache(root: Path, mode: str) -> None:
    """A second identical run makes zero model calls and rewrites no digest."""
    server, _ = make_server(root)
    sampler = RecordingSampler()
    args = {"version": SAMPLE_VERSION, "focus_areas": ["css"]}
    async with Client(server, sampling_handler=sampler, mode=mode) as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        await client.call_tool("webplatform_digest", args)
        asked = len(sampler.calls)
        second = await client.call_tool("webplatform_digest", args)
    assert asked == 2
    assert len(sampler.calls) == asked
    summary = second.structured_content
    assert summary is not None
    assert summary["written"] == []
    assert summary["cache_hits"] == 2


async def test_modern_rounds_reject_a_replayed_round_token(root: Path) -> None:
    """Feeding the same round twice (same request_state) is refused with a clear error."""
    server, _ = make_server(root)
    sampler = RecordingSampler()
    async with Client(server, sampling_handler=sampler) as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        session = client.session
        first = await session.call_tool(
            "webplatform_digest",
            {"version": SAMPLE_VERSION, "focus_areas": ["css"], "use_cache": False},
            allow_input_required=True,
        )
        assert isinstance(first, InputRequiredResult)
        assert first.input_requests
        responses: InputResponses = {}
        for key, req in first.input_requests.items():
            assert isinstance(req, CreateMessageRequest)
            responses[key] = await sampler([req.params.messages[-1]], req.params, None)
        args = {"version": SAMPLE_VERSION, "focus_areas": ["css"], "use_cache": False}
        second = await session.call_tool(
            "webplatform_digest",
            args,
            input_responses=responses,
            request_state=first.request_state,
            allow_input_required=True,
        )
        assert isinstance(second, InputRequiredResult)
        replay = await session.call_tool(
            "webplatform_digest",
            args,
            input_responses=responses,
            request_state=first.request_state,
            allow_input_required=True,
        )
    assert isinstance(replay, CallToolResult)
    assert replay.is_error
    message = replay.content[0]
    assert isinstance(message, TextContent)
    assert "token" in message.text.lower()


@pytest.mark.parametrize("mode", ERAS)
async def test_bad_arguments_name_the_valid_choices_and_write_nothing(
    root: Path, mode: str
) -> None:
    """An unknown area or an unprocessed release is an actionable tool error."""
    server, _ = make_server(root)
    async with Client(server, mode=mode) as client:
        with pytest.raises(ToolError, match="process"):
            await client.call_tool("webplatform_digest", {"version": 120})
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        with pytest.raises(ToolError, match=r"valid areas: .*css"):
            await client.call_tool(
                "webplatform_digest", {"version": SAMPLE_VERSION, "focus_areas": ["nope"]}
            )
        too_many = await client.call_tool(
            "webplatform_digest",
            {"version": SAMPLE_VERSION, "focus_areas": ["css"] * 10_000},
            raise_on_error=False,
        )
        bad_version = await client.call_tool(
            "webplatform_digest", {"version": 10_000}, raise_on_error=False
        )
    assert too_many.is_error
    assert bad_version.is_error
    assert _digests(root) == []


@pytest.mark.parametrize("mode", ERAS)
async def test_progress_notifications_reach_the_client(root: Path, mode: str) -> None:
    """The run reports completed/total with a message, ending at total."""
    server, _ = make_server(root)
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async with Client(server, sampling_handler=RecordingSampler(), mode=mode) as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        await client.call_tool(
            "webplatform_digest",
            {"version": SAMPLE_VERSION, "focus_areas": ["css", "javascript"]},
            progress_handler=on_progress,
        )
    assert seen, "no progress notification arrived"
    last_value, last_total, _ = seen[-1]
    assert last_total is not None
    assert last_value == last_total
    assert any(message for _, _, message in seen)


async def test_run_progress_lists_events_after_a_sequence_number(root: Path) -> None:
    """get_digest_progress pages through the run's event log by sequence number."""
    server, _ = make_server(root)
    async with Client(server) as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        run = await client.call_tool("webplatform_digest", {"version": SAMPLE_VERSION})
        run_id = structured(run.structured_content)["run_id"]
        everything = await client.call_tool("get_digest_progress", {"run_id": run_id})
        page = everything.structured_content
        assert page is not None
        assert page["run"]["status"] == "completed"
        seqs = [e["seq"] for e in page["events"]]
        assert seqs == sorted(seqs)
        assert len(seqs) >= 2
        later = await client.call_tool(
            "get_digest_progress", {"run_id": run_id, "after_seq": seqs[0]}
        )
        unknown = await client.call_tool(
            "get_digest_progress", {"run_id": "no-such-run-id"}, raise_on_error=False
        )
    assert [e["seq"] for e in structured(later.structured_content)["events"]] == seqs[1:]
    assert unknown.is_error


async def test_pages_catalogue_and_telemetry_tools_answer(root: Path) -> None:
    """list_focus_areas, generate_github_pages and telemetry_summary return structured data."""
    server, _ = make_server(root)
    async with Client(server) as client:
        areas = (await client.call_tool("list_focus_areas", {})).structured_content
        await client.call_tool("process_release_notes", {"all": True})
        await client.call_tool("webplatform_digest", {"version": SAMPLE_VERSION})
        pages = (await client.call_tool("generate_github_pages", {"html": True})).structured_content
        again = (await client.call_tool("generate_github_pages", {"html": True})).structured_content
        summary = (await client.call_tool("telemetry_summary", {})).structured_content
    assert areas is not None
    assert "css" in {a["id"] for a in areas["areas"]}
    assert pages is not None
    assert pages["written"] > 0
    assert again is not None
    assert again["written"] == 0
    assert (root / "site" / "index.html").is_file()
    assert summary is not None
    assert summary


@pytest.mark.parametrize("mode", ERAS)
async def test_resources_read_what_exists_and_reject_bad_parameters(root: Path, mode: str) -> None:
    """Catalogue, index and the three templates read files; bad parameters are errors."""
    server, _ = make_server(root)
    async with Client(server, mode=mode) as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        await client.call_tool("webplatform_digest", {"version": SAMPLE_VERSION, "language": "en"})
        templates = {t.uri_template for t in await client.list_resource_templates()}
        listed = {str(r.uri) for r in await client.list_resources()}
        catalog = orjson.loads(_text(await client.read_resource("focus-areas://catalog")))
        index = orjson.loads(_text(await client.read_resource("workspace://index")))
        note = _text(await client.read_resource(f"release-notes://{SAMPLE_VERSION}"))
        data = _text(await client.read_resource(f"area-data://{SAMPLE_VERSION}/css"))
        digest = _text(await client.read_resource(f"digest://{SAMPLE_VERSION}/css/en"))
        failures = []
        for uri in (
            "release-notes://abc",
            f"area-data://{SAMPLE_VERSION}/nope",
            f"digest://{SAMPLE_VERSION}/css/fr",
            f"digest://{SAMPLE_VERSION}/css/zh",
        ):
            try:
                await client.read_resource(uri)
            except Exception as exc:  # noqa: BLE001 - any protocol or resource error is fine
                failures.append(str(exc))
    assert templates == {
        "release-notes://{version}",
        "area-data://{version}/{area}",
        "digest://{version}/{area}/{language}",
    }
    assert listed == {"focus-areas://catalog", "workspace://index", "features://index"}
    assert "css" in {a["id"] for a in catalog["areas"]}
    assert f"chrome-{SAMPLE_VERSION}.md" in index["release_notes"]
    assert note.startswith("#")
    assert "features:" in data
    assert parse_digest_file(digest.encode()).area == "css"
    assert len(failures) == 4


async def test_prompts_are_listed_and_rendered() -> None:
    """The digest and translation prompts are MCP prompts with their arguments."""
    server, _ = make_server(Path("/nonexistent-root-not-touched"))
    async with Client(server) as client:
        prompts = {p.name: p for p in await client.list_prompts()}
        rendered = await client.get_prompt(
            "digest_english",
            {"area_name": "CSS", "version": "144", "release_notes": "### A feature"},
        )
    assert {"digest_english", "translate_chinese", "glossary"} <= set(prompts)
    text = text_of(rendered.messages[0].content)
    assert "### A feature" in text
    assert "CSS" in text


async def test_a_modern_run_with_retries_finishes_within_the_clients_round_cap(
    root: Path,
) -> None:
    """Every first English draft is rejected (a retry each), yet the run ends in ≤ 10 rounds."""
    server, _ = make_server(root, max_concurrency=2)

    def answer(prompt: str) -> str:
        first_english_draft = "<<<DIGEST" not in prompt and "was rejected" not in prompt
        return "not a digest" if first_english_draft else answer_from_prompt(prompt)

    sampler = RecordingSampler(answer)
    async with Client(server, sampling_handler=sampler) as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        result = await client.call_tool("webplatform_digest", {"version": SAMPLE_VERSION})
    summary = result.structured_content
    assert summary is not None
    statuses = {s for row in summary["areas"].values() for s in row.values()}
    assert statuses <= {"ok", "retried"}
    assert "retried" in statuses
    assert len(summary["areas"]) > 10


@pytest.mark.parametrize("mode", ERAS)
async def test_monitor_tools_check_and_fetch_from_the_configured_site(
    root: Path, mode: str
) -> None:
    """check_latest_releases and fetch_release_notes work against a loopback developer site."""
    with running_site() as site:
        for page in expected_pages():
            site.page(page.path, page.fixture)
        site.page("/release-notes", "release-notes-index.html")
        site.page("/blog", "blog-index.html")
        stable = next(p for p in expected_pages() if p.track == "stable")
        server, _ = make_server(root, monitor_base_url=site.base_url)
        async with Client(server, mode=mode) as client:
            latest = await client.call_tool("check_latest_releases", {"channel": "stable"})
            fetched = await client.call_tool("fetch_release_notes", {"version": stable.version})
            missing = await client.call_tool(
                "fetch_release_notes", {"version": 998}, raise_on_error=False
            )
    assert latest.structured_content is not None
    assert fetched.structured_content is not None
    assert (root / "release_notes" / f"chrome-{stable.version}.md").is_file()
    assert missing.is_error
    assert not (root / "release_notes" / "chrome-998.md").exists()


async def test_a_failing_back_channel_client_still_gets_every_digest(root: Path) -> None:
    """Every sampling request errors: the governor gives up and each area falls back."""
    server, _ = make_server(root, max_retries=0, retry_base_delay=0)

    async def broken(messages: Any, params: Any, context: Any) -> Any:
        raise RuntimeError("the model is unavailable")

    async with Client(server, sampling_handler=broken, mode="legacy") as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        result = await client.call_tool(
            "webplatform_digest", {"version": SAMPLE_VERSION, "focus_areas": ["css", "network"]}
        )
    summary = result.structured_content
    assert summary is not None
    assert summary["status"] == "completed"
    assert {s for row in summary["areas"].values() for s in row.values()} == {"fallback"}
    assert len(_digests(root)) == 4


async def _abandon_when(reached: anyio.Event, client: Client[Any], args: dict[str, Any]) -> None:
    """Call the digest tool and give up on it client-side as soon as ``reached`` is set.

    Giving up is a cancellation of the pending request (the client tells the server), driven
    by the event rather than by a client timeout in real seconds.
    """
    outcome: list[str] = []

    async def call() -> None:
        await client.call_tool("webplatform_digest", args)
        outcome.append("returned")

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(call)
            await reached.wait()
            group.cancel_scope.cancel()
    assert outcome == [], "the call returned before the client gave up"


async def test_cancelling_a_run_leaves_a_consistent_registry(root: Path) -> None:
    """A client that gives up mid-run cancels it: the run is recorded as cancelled."""
    server, container = make_server(root)
    started, finished = anyio.Event(), run_finished(container)

    async def slow(messages: Any, params: Any, context: Any) -> Any:
        started.set()
        await anyio.sleep(60)

    async with Client(server, sampling_handler=slow, mode="legacy") as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        await _abandon_when(started, client, {"version": SAMPLE_VERSION})
        with anyio.fail_after(10):
            await finished.wait()
        runs = container.runs.list_runs()
    assert started.is_set()
    assert len(runs) == 1
    assert container.runs.get(runs[0].run_id).status.value == "cancelled"


@pytest.mark.parametrize("mode", ERAS)
async def test_an_interrupted_run_is_finished_with_resume_run_id(root: Path, mode: str) -> None:
    """A run cut short by a shutdown is interrupted; resume_run_id completes it."""
    server, container = make_server(root)
    first_call, finished = anyio.Event(), run_finished(container)

    async def stalls(messages: Any, params: Any, context: Any) -> Any:
        first_call.set()
        await anyio.sleep(60)

    args = {"version": SAMPLE_VERSION, "focus_areas": ["css", "javascript"]}
    async with Client(server, sampling_handler=stalls, mode="legacy") as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        container.begin_shutdown()  # what SIGTERM does before in-flight calls are cancelled
        await _abandon_when(first_call, client, args)
        with anyio.fail_after(10):
            await finished.wait()
    run_id = container.runs.list_runs()[0].run_id
    assert container.runs.get(run_id).status.value == "interrupted"
    restarted, _ = make_server(root)  # the next server process on the same workspace
    sampler = RecordingSampler()
    async with Client(restarted, sampling_handler=sampler, mode=mode) as client:
        wrong = await client.call_tool(
            "webplatform_digest", {"version": 144, "resume_run_id": run_id}, raise_on_error=False
        )
        resumed = await client.call_tool(
            "webplatform_digest", {"version": SAMPLE_VERSION, "resume_run_id": run_id}
        )
        again = await client.call_tool(
            "webplatform_digest",
            {"version": SAMPLE_VERSION, "resume_run_id": run_id},
            raise_on_error=False,
        )
    assert first_call.is_set()
    assert wrong.is_error
    summary = resumed.structured_content
    assert summary is not None
    assert summary["run_id"] == run_id
    assert summary["status"] == "completed"
    assert set(summary["areas"]) == {"css", "javascript"}
    assert sampler.calls
    assert again.is_error
    assert "not interrupted" in text_of(again.content[0])


async def test_the_tools_take_a_list_of_languages_and_the_old_choices(root: Path) -> None:
    """["en", "ja"] writes English and Japanese; "en,ko" builds both trees; "fr" is refused."""
    server, _ = make_server(root)
    async with Client(server) as client:
        await client.call_tool("process_release_notes", {"version": SAMPLE_VERSION})
        with anyio.fail_after(30):
            result = await client.call_tool(
                "webplatform_digest",
                {"version": SAMPLE_VERSION, "language": ["en", "ja"], "focus_areas": ["css"]},
            )
        assert result.structured_content is not None
        assert result.structured_content["areas"]["css"] == {"en": "fallback", "ja": "fallback"}
        await client.call_tool("generate_github_pages", {"language": "en,ja"})
        with pytest.raises(ToolError, match="language must be one of"):
            await client.call_tool(
                "webplatform_digest", {"version": SAMPLE_VERSION, "language": "fr"}
            )
    assert (root / f"digest_markdown/areas/css/chrome-{SAMPLE_VERSION}-ja.md").is_file()
    assert (root / "digest_markdown/ja/index.md").is_file()
