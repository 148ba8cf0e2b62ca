"""Stamps: output hashes are checked safely, inputs are listed as the site generator reads them."""

from pathlib import Path

from webplatform_digest.storage.stamps import (
    digest_sources,
    files_match,
    read_stamp,
    render_stamp,
    sha256_hex,
)
from webplatform_digest.storage.workspace import Workspace


def _file(root: Path, rel: str, data: bytes) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return sha256_hex(data)


def test_files_match_only_when_every_byte_is_the_same(workspace: Workspace) -> None:
    """Equal bytes match; one changed or missing file does not."""
    root = workspace.root
    expected = {
        "a/b/one.md": _file(root, "a/b/one.md", b"one"),
        "two.md": _file(root, "two.md", b"2"),
    }
    assert files_match(workspace, expected)
    (root / "two.md").write_bytes(b"3")
    assert not files_match(workspace, expected)
    (root / "two.md").unlink()
    assert not files_match(workspace, expected)


def test_a_path_that_could_leave_the_root_never_matches(
    workspace: Workspace, tmp_path: Path
) -> None:
    """``..``, absolute paths and symlinked folders or files are mismatches, never reads."""
    outside = tmp_path / "outside"
    digest = _file(outside, "secret.md", b"secret")
    (workspace.root / "linked").symlink_to(outside)
    (workspace.root / "file.md").symlink_to(outside / "secret.md")
    assert not files_match(workspace, {"linked/secret.md": digest})
    assert not files_match(workspace, {"file.md": digest})
    assert not files_match(workspace, {"../outside/secret.md": digest})
    assert not files_match(workspace, {str(outside / "secret.md"): digest})


def test_digest_sources_are_the_digests_not_the_generated_pages(workspace: Workspace) -> None:
    """Markdown directly in an area folder except ``index.md``; a symlinked folder: no answer."""
    areas = workspace.root / "digest_markdown/areas"
    en = _file(areas, "css/chrome-144-en.md", b"en")
    _file(areas, "css/index.md", b"page")
    _file(areas, "css/timeline/index.md", b"page")
    assert digest_sources(workspace) == {"digest_markdown/areas/css/chrome-144-en.md": en}
    (areas / "js").symlink_to(areas / "css")
    assert digest_sources(workspace) is None


def test_a_stamp_reads_back_and_a_foreign_one_does_not(workspace: Workspace) -> None:
    """Deterministic bytes (sorted keys, no time); another format or no JSON object is None."""
    rel = Workspace.MONITORING / "stamps" / "x.json"
    data = render_stamp({"b": 1, "a": [1, 2]})
    assert data == render_stamp({"a": [1, 2], "b": 1})
    _file(workspace.root, str(rel), data)
    assert read_stamp(workspace, rel) == {"format": 1, "a": [1, 2], "b": 1}
    _file(workspace.root, str(rel), b'{"format": 2}')
    assert read_stamp(workspace, rel) is None
    _file(workspace.root, str(rel), b"[1]")
    assert read_stamp(workspace, rel) is None


def test_digest_sources_have_no_answer_when_the_digests_lead_outside_the_workspace(
    workspace: Workspace, tmp_path: Path
) -> None:
    """A digest folder that resolves outside the root gives no inputs (no stamp), not an error."""
    outside = tmp_path / "elsewhere"
    _file(outside, "areas/css/chrome-144-en.md", b"en")
    (workspace.root / "digest_markdown").symlink_to(outside)
    assert digest_sources(workspace) is None
