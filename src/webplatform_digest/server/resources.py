"""MCP resources and prompts. Registration costs nothing at startup, whatever is on disk.

Fixed resources: ``focus-areas://catalog`` and ``workspace://index`` (what exists, enumerated
when read). Templates: ``release-notes://{version}``, ``area-data://{version}/{area}``,
``digest://{version}/{area}/{language}``; ``{version}`` is ``144`` or ``144-beta`` (and
``webgpu-144`` for release notes). Every parameter is validated before a path is built.
"""

import logging
import re
from typing import Annotated, Any

import anyio
from fastmcp import FastMCP
from fastmcp.exceptions import ResourceError
from pydantic import Field

from webplatform_digest.container import Container
from webplatform_digest.digest.prompt_specs import PROMPT_SPECS
from webplatform_digest.errors import (
    InputError,
    InvalidVersionError,
    NotFoundError,
    ParseError,
    WebplatformError,
)
from webplatform_digest.models import Channel, Language, Product, ReleaseKey, parse_version
from webplatform_digest.server.lazy import load
from webplatform_digest.storage.workspace import Workspace

PROMPTS = "webplatform_digest.digest.prompts"
_RELEASE = re.compile(r"^(?:(webgpu)-)?([0-9]{1,3})(?:-(beta))?$")


def parse_release_param(value: str) -> tuple[Product, ReleaseKey]:
    """``144`` / ``144-beta`` / ``webgpu-144`` → product and release key.

    Raises:
        InvalidVersionError: anything else.
    """
    match = _RELEASE.fullmatch(value.strip())
    if not match or (match.group(1) and match.group(3)):
        raise InvalidVersionError(
            f"release {value[:40]!r} is not valid: use 144, 144-beta or webgpu-144"
        )
    product = Product.WEBGPU if match.group(1) else Product.CHROME
    channel = Channel.BETA if match.group(3) else Channel.STABLE
    return product, ReleaseKey(parse_version(match.group(2)), channel)


def _read(container: Container, rel: Any, what: str) -> str:
    """A workspace file as text, refused when larger than a fetched note may be."""
    path = container.workspace.path(rel)
    cap = container.settings.monitor.fetch_max_bytes
    try:
        size = path.stat().st_size
        if size > cap:
            raise InputError(
                f"{what} is {size:,} bytes, over the {cap:,}-byte cap (WEBPLATFORM_FETCH_MAX_BYTES)"
            )
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"{what} not found") from None
    except UnicodeDecodeError:
        raise ParseError(f"{what} is not UTF-8 text") from None
    except OSError as exc:
        raise NotFoundError(f"{what} cannot be read: {exc.strerror or exc}") from None


async def _guarded(call: Any) -> str:
    """Run a blocking read off the event loop; domain errors become resource errors."""
    try:
        return await anyio.to_thread.run_sync(call)
    except WebplatformError as exc:
        # the client gets the message; fastmcp logs it with a traceback, so only at DEBUG
        raise ResourceError(str(exc), log_level=logging.DEBUG) from exc


def register_resources(mcp: FastMCP, container: Container) -> None:
    """Add the catalogue, index and the three templates."""

    @mcp.resource("focus-areas://catalog", mime_type="application/json")
    async def focus_area_catalog() -> dict[str, Any]:
        """The focus-area catalogue: ids, names (EN/ZH), descriptions, priorities."""
        return {
            "areas": [
                {
                    "id": a.id,
                    "name": a.name,
                    "name_zh": a.name_zh,
                    "description": a.description,
                    "priority": a.priority,
                }
                for a in container.catalog.areas
            ]
        }

    @mcp.resource("workspace://index", mime_type="application/json")
    async def workspace_index() -> dict[str, Any]:
        """What exists in the workspace: release notes, processed releases, digests."""
        return await anyio.to_thread.run_sync(lambda: _index(container))

    @mcp.resource("release-notes://{version}", mime_type="text/markdown")
    async def release_notes(version: str) -> str:
        """The raw release note (markdown) of ``144``, ``144-beta`` or ``webgpu-144``."""

        def read() -> str:
            product, key = parse_release_param(version)
            rel = Workspace.release_note_rel(product, key.version, key.channel)
            return _read(container, rel, f"release note {version!r} (fetch_release_notes)")

        return await _guarded(read)

    @mcp.resource("area-data://{version}/{area}", mime_type="application/yaml")
    async def area_data(version: str, area: str) -> str:
        """The processed features of one area of one release (YAML)."""

        def read() -> str:
            key = _chrome_key(version)
            area_id = container.catalog.resolve(area)
            rel = Workspace.area_data_rel(area_id, key)
            return _read(container, rel, f"area data {version}/{area_id} (process_release_notes)")

        return await _guarded(read)

    @mcp.resource("digest://{version}/{area}/{language}", mime_type="text/markdown")
    async def digest(version: str, area: str, language: str) -> str:
        """A written digest (markdown with front matter) in ``en`` or ``zh``."""

        def read() -> str:
            key = _chrome_key(version)
            area_id = container.catalog.resolve(area)
            lang = _language(language)
            rel = Workspace.digest_rel(area_id, key, lang)
            return _read(container, rel, f"digest {version}/{area_id}/{lang.value}")

        return await _guarded(read)


def _chrome_key(version: str) -> ReleaseKey:
    product, key = parse_release_param(version)
    if product is not Product.CHROME:
        raise InvalidVersionError("use a Chrome release here: 144 or 144-beta")
    return key


def _language(value: str) -> Language:
    try:
        return Language(value.strip().lower())
    except ValueError:
        raise InvalidVersionError(f"language must be en or zh, got {value[:20]!r}") from None


def _index(container: Container) -> dict[str, Any]:
    store = container.area_store
    workspace = container.workspace
    notes_dir = workspace.path(Workspace.RELEASE_NOTES)
    notes = sorted(p.name for p in notes_dir.glob("*.md")) if notes_dir.is_dir() else []
    processed = {key.slug: list(store.areas_for(key)) for key in store.available_releases()}
    digests_dir = workspace.root / Workspace.DIGESTS / "areas"
    digests = (
        sorted(str(p.relative_to(digests_dir)) for p in digests_dir.glob("*/*.md"))
        if digests_dir.is_dir()
        else []
    )
    return {"release_notes": notes, "processed": processed, "digests": digests}


def register_prompts(mcp: FastMCP) -> None:
    """The digest and translation prompts (and the glossary) as MCP prompts, listed from their
    specs; the prompt machinery is imported on the first ``prompts/get``, off the loop."""
    specs = {spec.name: spec for spec in PROMPT_SPECS}
    long_text = Field(max_length=400_000)

    async def render(name: str, **values: str) -> str:
        await load(PROMPTS)
        from webplatform_digest.digest.prompts import prompt_templates

        return prompt_templates()[name].render(**values)

    @mcp.prompt(name="digest_english", description=specs["digest_english"].description)
    async def digest_english(
        area_name: Annotated[str, Field(max_length=200)],
        version: Annotated[str, Field(max_length=20)],
        release_notes: Annotated[str, long_text],
    ) -> str:
        return await render(
            "digest_english", area_name=area_name, version=version, release_notes=release_notes
        )

    @mcp.prompt(name="translate_chinese", description=specs["translate_chinese"].description)
    async def translate_chinese(english_digest: Annotated[str, long_text]) -> str:
        return await render("translate_chinese", english_digest=english_digest)

    @mcp.prompt(name="glossary", description=specs["glossary"].description)
    async def glossary() -> str:
        return await render("glossary")
