"""The architecture holds: every module is on the map in docs/architecture.md, imports flow one way.

The rules are checked on the source (AST), transitively: a pure module that imports a pure
helper which imports ``anyio`` breaks the rule as surely as importing ``anyio`` itself.
"""

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

PACKAGE_NAME = "webplatform_digest"
PACKAGE = REPO_ROOT / "src" / PACKAGE_NAME
ARCHITECTURE_DOC = REPO_ROOT / "docs" / "architecture.md"

VOCABULARY = ("errors", "models", "events", "clock", "retry", "hosting", "settings")
#: pure folders, left to right: a folder may import only those to its left
PURE_FOLDERS = ("releases", "areas", "digest", "site")
#: pure modules that live in an I/O folder, and the vocabulary pure code may use
PURE_ELSEWHERE = (
    "errors",
    "models",
    "events",
    "retry",
    "llm.port",
    "llm.breaker",
    "llm.limiter",
    "llm.selection",
    "telemetry.labels",
    "telemetry.summary",
)
#: what a pure folder may import outside the pure folders
PURE_FOLDER_MAY_IMPORT = ("errors", "models", "events", "retry", "llm.port")
SHELLS = ("storage", "llm", "monitor", "telemetry", "runs")
TOP = ("container", "services", "server", "cli")
WIRING = ("configs", "service_host", "startup")  # beside the container, below the services
SETTINGS_FREE = ("storage", "llm", "monitor")  # take value configs; configs.py maps Settings
IO_LIBRARIES = frozenset(
    {
        "os",
        "io",
        "time",
        "socket",
        "sqlite3",
        "subprocess",
        "shutil",
        "tempfile",
        "threading",
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
        "pydantic_settings",
    }
)
MCP_LIBRARIES = ("fastmcp", "mcp")
MCP_ALLOWED = ("server", "llm.mcp_sampling")


@dataclass(frozen=True, slots=True)
class Module:
    """One module of the package: its dotted name (without the package), what it imports."""

    name: str
    internal: frozenset[str]
    external: frozenset[str]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported_names(tree: ast.AST, own: str, is_package: bool) -> Iterable[str]:
    """Absolute dotted names imported by a module (relative imports resolved)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = f"{PACKAGE_NAME}.{own}".split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _split(names: Iterable[str], known: set[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Internal modules (longest known prefix) and external top-level packages."""
    internal: set[str] = set()
    external: set[str] = set()
    for name in names:
        if name == PACKAGE_NAME or name.startswith(PACKAGE_NAME + "."):
            rel = name.removeprefix(PACKAGE_NAME).removeprefix(".")
            while rel and rel not in known:
                rel = rel.rpartition(".")[0]
            if rel:
                internal.add(rel)
        elif name:
            external.add(name.split(".")[0])
    return frozenset(internal), frozenset(external)


def load_modules(root: Path) -> dict[str, Module]:
    """Every module under ``root`` (a package directory) with its imports."""
    paths = sorted(root.rglob("*.py"))
    known = {_module_name(p, root) for p in paths} - {""}
    modules: dict[str, Module] = {}
    for path in paths:
        name = _module_name(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _imported_names(tree, name, path.name == "__init__.py")
        internal, external = _split(names, known)
        modules[name] = Module(name, internal - {name}, external)
    return modules


def _folder(name: str) -> str:
    return name.split(".")[0]


def _is_pure(name: str) -> bool:
    return _folder(name) in PURE_FOLDERS or name in PURE_ELSEWHERE


def _closure(modules: Mapping[str, Module], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        current = todo.pop()
        if current in seen or current not in modules:
            continue
        seen.add(current)
        todo.extend(modules[current].internal)
    return seen


def _pure_violations(modules: Mapping[str, Module], name: str) -> list[str]:
    reached = _closure(modules, name)
    found = [
        f"{name} reaches I/O module {dep}" for dep in sorted(reached - {name}) if not _is_pure(dep)
    ]
    for dep in sorted(reached):
        via = "" if dep == name else f" via {dep}"
        found += [
            f"{name} reaches {lib}{via}" for lib in sorted(modules[dep].external & IO_LIBRARIES)
        ]
    return found


def _folder_order_violations(module: Module) -> list[str]:
    folder = _folder(module.name)
    if folder not in PURE_FOLDERS:
        return []
    allowed = {*PURE_FOLDERS[: PURE_FOLDERS.index(folder) + 1]}
    return [
        f"{module.name} imports {dep}"
        for dep in sorted(module.internal)
        if _folder(dep) not in allowed and dep not in PURE_FOLDER_MAY_IMPORT
    ]


def _layer_violations(module: Module) -> list[str]:
    folder = _folder(module.name)
    banned: set[str]
    if folder in VOCABULARY:
        banned = {*SHELLS, *TOP, *PURE_FOLDERS}
    elif folder in SHELLS:
        banned = set(TOP)
    elif folder in TOP:
        banned = set(TOP[TOP.index(folder) + 1 :])
    elif folder in WIRING:
        banned = set(TOP[1:])
    else:
        banned = set()
    if folder in SETTINGS_FREE:
        banned.add("settings")
    return [
        f"{module.name} imports {dep}" for dep in sorted(module.internal) if _folder(dep) in banned
    ]


def _mcp_violations(module: Module) -> list[str]:
    if _folder(module.name) == "server" or module.name in MCP_ALLOWED:
        return []
    return [f"{module.name} imports {lib}" for lib in sorted(module.external & {*MCP_LIBRARIES})]


def violations(root: Path) -> list[str]:
    """Every broken import rule of the package at ``root``."""
    modules = load_modules(root)
    found: list[str] = []
    for name, module in sorted(modules.items()):
        if _is_pure(name):
            found += _pure_violations(modules, name)
        found += _folder_order_violations(module)
        found += _layer_violations(module)
        found += _mcp_violations(module)
    return found


def _mapped_modules(doc: str) -> set[str]:
    """Module paths named in the doc's "Module map" section (first cell of each table row)."""
    section = doc.split("## Module map", 1)[1].split("\n## ", 1)[0]
    return {
        line.split("`")[1]
        for line in section.splitlines()
        if line.startswith("| `") and line.split("`")[1].endswith(".py")
    }


def _package_modules(root: Path) -> set[str]:
    """Module files a reader needs on the map (trivial ``__init__``/``__main__`` files are not)."""
    found: set[str] = set()
    for path in root.rglob("*.py"):
        trivial = path.name in {"__init__.py", "__main__.py"} and (
            len(path.read_text(encoding="utf-8").splitlines()) < 10
        )
        if not trivial:
            found.add(path.relative_to(root).as_posix())
    return found


def test_every_module_is_on_the_architecture_map_and_every_mapped_module_exists() -> None:
    """docs/architecture.md lists exactly the package's modules: a rename fails here, not skips."""
    mapped = _mapped_modules(ARCHITECTURE_DOC.read_text(encoding="utf-8"))
    actual = _package_modules(PACKAGE)
    assert sorted(mapped - actual) == [], "on the map but missing from the package"
    assert sorted(actual - mapped) == [], "in the package but missing from the map"


def test_the_package_keeps_every_import_rule() -> None:
    """Pure stages reach no I/O (transitively), shells never import the top, MCP stays confined."""
    assert violations(PACKAGE) == []


def test_every_listed_pure_module_exists() -> None:
    """A pure module named in the rules but gone from the package is an error, never a skip."""
    modules = load_modules(PACKAGE)
    missing = [name for name in PURE_ELSEWHERE if name not in modules]
    assert missing == []
    for folder in PURE_FOLDERS:
        assert any(_folder(name) == folder and "." in name for name in modules), folder


def _write_package(root: Path, files: Mapping[str, str]) -> Path:
    package = root / PACKAGE_NAME
    for rel, text in files.items():
        path = package / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return package


def test_a_pure_module_importing_an_io_module_is_reported(tmp_path: Path) -> None:
    """The checker catches a pure module that imports the write queue (and anyio through it)."""
    package = _write_package(
        tmp_path,
        {
            "digest/machine.py": "from webplatform_digest.storage.queue import WriteQueue\n",
            "storage/queue.py": "import anyio\n",
        },
    )
    assert violations(package) == [
        "digest.machine reaches I/O module storage.queue",
        "digest.machine reaches anyio via storage.queue",
        "digest.machine imports storage.queue",
    ]


def test_an_io_library_reached_through_a_pure_helper_is_reported(tmp_path: Path) -> None:
    """Transitive: a pure module is impure when a pure module it imports reaches httpx."""
    package = _write_package(
        tmp_path,
        {
            "site/model.py": "from webplatform_digest.digest import files\n",
            "digest/files.py": "import httpx\n",
        },
    )
    found = violations(package)
    assert "site.model reaches httpx via digest.files" in found
    assert "digest.files reaches httpx" in found


@pytest.mark.parametrize(
    ("source", "target", "expected"),
    [
        ("areas/data.py", "site.model", "areas.data imports site.model"),
        ("runs/driver.py", "services.digest", "runs.driver imports services.digest"),
        ("container.py", "server.app", "container imports server.app"),
        ("services/digest.py", "cli.digest", "services.digest imports cli.digest"),
        ("server/app.py", "cli.pages", "server.app imports cli.pages"),
        ("models.py", "storage.workspace", "models imports storage.workspace"),
        ("configs.py", "services.digest", "configs imports services.digest"),
        ("llm/governor.py", "settings", "llm.governor imports settings"),
    ],
)
def test_imports_against_the_flow_are_reported(
    tmp_path: Path, source: str, target: str, expected: str
) -> None:
    """Each layer rule fires: pure folder order, shells under the top, container under services."""
    target_path = target.replace(".", "/") + ".py"
    package = _write_package(
        tmp_path,
        {source: f"import webplatform_digest.{target}\n", target_path: ""},
    )
    assert expected in violations(package)


def test_fastmcp_outside_the_server_and_the_sampling_adapter_is_reported(tmp_path: Path) -> None:
    """The CLI stays light: only server/ and llm/mcp_sampling.py may import fastmcp or mcp."""
    package = _write_package(
        tmp_path,
        {
            "cli/pages.py": "from fastmcp import FastMCP\n",
            "llm/mcp_sampling.py": "import mcp\n",
            "server/app.py": "import fastmcp\n",
        },
    )
    assert violations(package) == ["cli.pages imports fastmcp"]
