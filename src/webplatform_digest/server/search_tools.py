"""The ``search_features`` tool and the ``features://index`` resource over the feature index.

Both read the index through ``services/search.py`` off the event loop (imported there on first
use too): bringing it up to date reads the per-area documents that changed and stores the index.
"""

from typing import Any

import anyio
from fastmcp import FastMCP
from fastmcp.exceptions import ResourceError

from webplatform_digest.container import Container
from webplatform_digest.errors import WebplatformError
from webplatform_digest.server.catalog import register_tool
from webplatform_digest.server.lazy import load
from webplatform_digest.server.results import FeatureSearch
from webplatform_digest.server.tool_args import (
    Limit,
    OptionalAreaId,
    OptionalVersion,
    SearchText,
    tool_errors,
)

SEARCH = "webplatform_digest.services.search"


def register_search(mcp: FastMCP, container: Container) -> None:
    """Add the ``search_features`` tool and the ``features://index`` resource."""

    @register_tool(mcp, "search_features")
    async def search_features_tool(
        query: SearchText = "",
        area: OptionalAreaId = None,
        since: OptionalVersion = None,
        until: OptionalVersion = None,
        limit: Limit = 50,
    ) -> FeatureSearch:
        """Search the features of every processed release ("what changed in CSS since 140"):
        all words of `query` in a feature's title or summary (any case; empty matches all),
        optionally one focus `area` and a `since`/`until` milestone range. Returns each
        feature's release, stage (shipped, beta, origin trial, deprecated), area, title,
        ChromeStatus link and digest page, newest release first."""
        await load(SEARCH)
        from webplatform_digest.services.search import search_features, search_query

        with tool_errors():
            wanted = search_query(
                container.catalog, query=query, area=area, since=since, until=until, limit=limit
            )
            result = await anyio.to_thread.run_sync(
                lambda: search_features(container.workspace, wanted)
            )
            return FeatureSearch.model_validate(result.to_json())

    @mcp.resource("features://index", mime_type="application/json")
    async def features_index() -> dict[str, Any]:
        """The feature index: every feature of every processed release and area (title,
        section, summary, ChromeStatus link), one entry per per-area document."""
        await load(SEARCH)
        from webplatform_digest.services.search import feature_index

        try:
            index = await anyio.to_thread.run_sync(lambda: feature_index(container.workspace))
        except WebplatformError as exc:
            raise ResourceError(str(exc)) from exc
        return index.to_json()
