"""What the server advertises — tools with their schemas, resources, templates and prompts —
is a public promise: it must stay byte-identical however the tool bodies are loaded.

The golden file is the listing as a client receives it. After an intended change to the
surface, rewrite it with ``python -m tests.server.test_listing`` and review the diff.
"""

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastmcp import Client

from tests.conftest import REPO_ROOT
from tests.server_support import make_server

GOLDEN = REPO_ROOT / "tests" / "data" / "server" / "listing.json"
ERAS = ("legacy", "auto")


async def advertised(root: Path) -> dict[str, Any]:
    """Everything ``*/list`` returns on each protocol era, as JSON values."""
    listing: dict[str, Any] = {}
    for mode in ERAS:
        server, _ = make_server(root)
        async with Client(server, mode=mode) as client:
            listing[mode] = {
                "tools": await client.list_tools(),
                "resources": await client.list_resources(),
                "resource_templates": await client.list_resource_templates(),
                "prompts": await client.list_prompts(),
            }
    return {
        mode: {
            kind: [item.model_dump(mode="json", by_alias=True, exclude_none=True) for item in items]
            for kind, items in lists.items()
        }
        for mode, lists in listing.items()
    }


def _dumps(listing: dict[str, Any]) -> bytes:
    return orjson.dumps(listing, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


@pytest.mark.parametrize("mode", ERAS)
async def test_the_listing_a_client_receives_is_unchanged(tmp_path: Path, mode: str) -> None:
    """Tool names, descriptions, input and output schemas, annotations, resources and
    prompts equal the golden copy on both protocol eras."""
    golden = orjson.loads(GOLDEN.read_bytes())
    current = orjson.loads(_dumps(await advertised(tmp_path)))
    assert current[mode] == golden[mode]


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        GOLDEN.write_bytes(_dumps(asyncio.run(advertised(Path(scratch)))))
