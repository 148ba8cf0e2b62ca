"""``search_features``: what changed where and since when, from the feature index.

Arguments are validated first (area ids through the catalogue, milestones, the limit), then the
stored index is brought up to date with the per-area documents (only changed documents are read)
and searched. The MCP tool, the ``features://index`` resource and the CLI ``search`` command all
come through here.
"""

from webplatform_digest.areas.classify import FocusAreaManager
from webplatform_digest.errors import InputError
from webplatform_digest.models import parse_version
from webplatform_digest.site.search import (
    MAX_LIMIT,
    SearchIndex,
    SearchQuery,
    SearchResult,
    search,
)
from webplatform_digest.storage.feature_index import refresh_index
from webplatform_digest.storage.workspace import Workspace

MAX_QUERY_CHARS = 200


def search_query(
    catalog: FocusAreaManager,
    *,
    query: str = "",
    area: str | None = None,
    since: object = None,
    until: object = None,
    limit: int = 50,
) -> SearchQuery:
    """A validated query.

    Raises:
        InputError: an unknown area, a bad milestone, ``since`` after ``until``, a limit outside
        1..500 or a query longer than 200 characters.
    """
    if len(query) > MAX_QUERY_CHARS:
        raise InputError(f"query is longer than {MAX_QUERY_CHARS} characters")
    if isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be 1..{MAX_LIMIT}, got {limit!r}")
    first = None if since is None else parse_version(since)
    last = None if until is None else parse_version(until)
    if first is not None and last is not None and first > last:
        raise InputError(f"since ({first}) is after until ({last})")
    area_id = None if area is None or not area.strip() else catalog.resolve(area)
    return SearchQuery(query.strip(), area_id, first, last, limit)


def feature_index(workspace: Workspace) -> SearchIndex:
    """The workspace's feature index, brought up to date and stored."""
    return refresh_index(workspace).index


def search_features(workspace: Workspace, query: SearchQuery) -> SearchResult:
    """The features of the processed releases matching ``query``, newest release first.

    Raises:
        ParseError: a per-area document is not valid area data.
    """
    return search(feature_index(workspace), query)
