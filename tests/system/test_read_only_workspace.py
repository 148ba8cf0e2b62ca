"""A workspace this process cannot write: the server starts, reading works, writing is refused.

The workspace is made read-only for real: each command runs in a private mount namespace
(``unshare -m``) where the workspace is bind-mounted read-only over itself, so every write
fails with EROFS exactly as on a read-only volume, and nothing leaks into the host's mounts.
Skipped where the machine does not allow mount namespaces.
"""

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.server_process import run_cli, stdio_session
from tests.server_support import SAMPLE_VERSION, seed_samples
from webplatform_digest.server.availability import WRITING_TOOLS
from webplatform_digest.storage.workspace import Workspace

#: run "$@" with the directory "$0" mounted read-only over itself (private namespace)
_READ_ONLY = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'


def _read_only(root: Path, *command: str) -> list[str]:
    """``command`` run with ``root`` read-only (without ``command``: the prefix that does it)."""
    return ["unshare", "-m", "sh", "-c", _READ_ONLY, str(root), *command]


def _mounts_allowed(root: Path) -> bool:
    probe = _read_only(root, "sh", "-c", 'touch "$0/.probe"', str(root))
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return False
    # allowed when the mount worked and the write then failed
    return done.returncode != 0 and "Read-only file system" in done.stderr


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def read_only_root(workspace: Workspace) -> Path:
    """A workspace with a processed sample release and one offline digest run, to be mounted
    read-only by the test."""
    root = workspace.root
    if not _mounts_allowed(root):
        pytest.skip("mount namespaces (unshare -m) are not allowed on this machine")
    seed_samples(root)
    env = {"WEBPLATFORM_LLM_BACKEND": "offline"}
    version = str(SAMPLE_VERSION)
    for args in (("process", "--version", version), ("run", "--version", version)):
        done = run_cli(root, *args, env=env)
        assert done.returncode == 0, done.stderr
    return root


def _cli_read_only(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(root, *args, env={"WEBPLATFORM_LLM_BACKEND": "offline"}, prefix=_read_only(root))


def test_reading_commands_work_and_writing_commands_refuse_in_one_line(
    read_only_root: Path,
) -> None:
    before = _tree_digest(read_only_root)
    reading = (("runs", "--json"), ("search", "css"), ("areas",), ("telemetry", "summary"))
    answers = {args: _cli_read_only(read_only_root, *args) for args in reading}
    for args, done in answers.items():
        assert done.returncode == 0, (args, done.stderr)
        assert "Traceback" not in done.stderr
    assert '"completed"' in answers["runs", "--json"].stdout
    # an unchanged process run has nothing to write and answers from its stamp
    unchanged = _cli_read_only(read_only_root, "process", "--version", str(SAMPLE_VERSION))
    assert unchanged.returncode == 0, unchanged.stderr
    for args in (("process", "--all"), ("pages",)):
        done = _cli_read_only(read_only_root, *args)
        assert done.returncode != 0
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert f"cannot write the workspace {read_only_root}: read-only file system" in lines[0]
    assert _tree_digest(read_only_root) == before


def _only_run_id(root: Path) -> str:
    listed = run_cli(root, "runs", "--json")
    (run,) = json.loads(listed.stdout)["runs"]
    return str(run["run_id"])


async def _talk_to_read_only_server(root: Path, run_id: str, errlog: Any) -> dict[str, Any]:
    env = {"WEBPLATFORM_ROOT": str(root), "WEBPLATFORM_LLM_BACKEND": "offline"}
    seen: dict[str, Any] = {}
    async with stdio_session(env, errlog, prefix=_read_only(root)) as session:
        seen["instructions"] = (await session.initialize()).instructions
        seen["tools"] = [tool.name for tool in (await session.list_tools()).tools]
        for name, arguments in (
            ("list_focus_areas", {}),
            ("search_features", {"query": ""}),
            ("telemetry_summary", {}),
            ("get_digest_progress", {"run_id": run_id}),
            ("process_release_notes", {"version": SAMPLE_VERSION}),
            ("webplatform_digest", {"version": SAMPLE_VERSION}),
            ("generate_github_pages", {}),
        ):
            seen[name] = await session.call_tool(name, arguments)
        note = await session.read_resource(f"release-notes://{SAMPLE_VERSION}")
        seen["note"] = note.contents[0]
    return seen


def test_a_server_on_a_read_only_workspace_starts_and_says_which_tools_are_unavailable(
    read_only_root: Path, tmp_path: Path
) -> None:
    run_id = _only_run_id(read_only_root)
    before = _tree_digest(read_only_root)
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("w") as errlog:
        seen = anyio.run(_talk_to_read_only_server, read_only_root, run_id, errlog)
    stderr = stderr_path.read_text()

    assert "Traceback" not in stderr
    warnings = [line for line in stderr.splitlines() if "cannot be written" in line]
    assert len(warnings) == 1
    for name in WRITING_TOOLS:
        assert name in warnings[0]
        assert name in seen["instructions"]
        assert name in seen["tools"]  # still listed, so clients see why a call is refused
    for name in ("list_focus_areas", "search_features", "telemetry_summary", "get_digest_progress"):
        assert not seen[name].is_error, seen[name].content
    assert seen["get_digest_progress"].structured_content["run"]["status"] == "completed"
    assert seen["search_features"].structured_content["total"] > 0
    for name in ("process_release_notes", "webplatform_digest", "generate_github_pages"):
        result = seen[name]
        assert result.is_error
        text = result.content[0].text
        assert f"{name} is unavailable" in text
        assert "read-only file system" in text
    assert "Chrome" in seen["note"].text
    assert _tree_digest(read_only_root) == before
