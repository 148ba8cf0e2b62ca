"""Import-boundary contract: the functional core imports no I/O, clock, network or MCP library."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "webplatform_digest"

PURE_MODULES = (
    "models.py",
    "errors.py",
    "releases/notes.py",
    "releases/blocks.py",
    "releases/metadata.py",
    "releases/links.py",
    "releases/page.py",
    "releases/html_tree.py",
    "releases/html_markdown.py",
    "areas/classify.py",
    "areas/catalog.py",
    "areas/data.py",
    "digest/prompts.py",
    "digest/checks.py",
    "digest/repair.py",
    "digest/machine.py",
    "digest/plan.py",
    "digest/state.py",
    "site/model.py",
    "site/pages.py",
    "site/markdown.py",
    "site/jekyll.py",
    "site/html.py",
    "llm/port.py",
    "llm/breaker.py",
    "llm/limiter.py",
    "llm/selection.py",
    "events.py",
    "telemetry/labels.py",
    "telemetry/summary.py",
)
FORBIDDEN = {
    "os",
    "io",
    "time",
    "socket",
    "sqlite3",
    "subprocess",
    "shutil",
    "tempfile",
    "asyncio",
    "anyio",
    "httpx",
    "fastmcp",
    "mcp",
    "prometheus_client",
    "filelock",
    "starlette",
    "uvicorn",
    "psutil",
    "webplatform_digest.settings",
    "webplatform_digest.clock",
}


def _imports(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(imported: set[str]) -> list[str]:
    return sorted(
        name
        for name in imported
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    )


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_modules_import_no_io_clock_network_or_mcp_library(module: str) -> None:
    """A core module imports only values, errors, pure helpers and pure stdlib parts."""
    path = PACKAGE / module
    if not path.exists():
        pytest.skip(f"{module} not present")
    assert _violations(_imports(path.read_text(encoding="utf-8"))) == []


def test_only_the_server_and_sampling_adapter_import_fastmcp() -> None:
    """fastmcp is confined to server*.py and llm/mcp_sampling.py so the CLI stays light."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("server") or rel == "llm/mcp_sampling.py":
            continue
        if any(
            n == "fastmcp" or n.startswith("fastmcp.") for n in _imports(path.read_text("utf-8"))
        ):
            offenders.append(rel)
    assert offenders == []
