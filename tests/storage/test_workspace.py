"""Workspace paths: one builder, confined to the root after resolving symlinks."""

import os
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webplatform_digest.errors import UnsafePathError, WriteError
from webplatform_digest.models import Channel, Language, Product, ReleaseKey
from webplatform_digest.storage.commit import atomic_write
from webplatform_digest.storage.workspace import Workspace, check_segment, confine, relative_path

HOSTILE_FRAGMENTS = (
    "..",
    ".",
    "/",
    "//",
    "\\",
    "\x00",
    "%2e%2e",
    "%2f",
    "..%2f",
    "ws_evil",
    "../ws_evil",
    "link_out",
    "link_in",
    "loop",
    "C:",
    "~",
    " ",
    "\u2025",  # two dot leader
    "\uff0e\uff0e",  # fullwidth full stops
    "\uff0f",  # fullwidth solidus
    "\u2215",  # division slash
    "e\u0301",  # combining accent
    "CON",
    ".tmp-x.part",
    "a" * 4096,
    "digest_markdown",
    "ok.md",
)


def _layout(base: Path) -> tuple[Workspace, Path, Path]:
    """A root with a sibling-prefix directory, an outside directory and three symlinks."""
    root, sibling, outside = base / "ws", base / "ws_evil", base / "outside"
    for directory in (root / "sub", sibling, outside):
        directory.mkdir(parents=True)
    (root / "link_out").symlink_to(outside, target_is_directory=True)
    (root / "link_in").symlink_to(root / "sub", target_is_directory=True)
    (root / "loop").symlink_to(root / "loop")
    return Workspace.at(root), sibling, outside


@pytest.mark.parametrize(
    "segment",
    [
        "",
        ".",
        "..",
        "a/b",
        "a\\b",
        "a\x00b",
        "%2e%2e",
        ".tmp-abc.part",
        "con",
        "LPT1.txt",
        "name.",
        "caf\u00e9",
        "\uff0e\uff0e",
        "a" * 129,
        "-leading-dash",
        "sp ace",
    ],
)
def test_check_segment_rejects_unsafe_components(segment: str) -> None:
    """Traversal, separators, NUL, encodings, temp names, device names and non-ASCII are refused."""
    with pytest.raises(UnsafePathError):
        check_segment(segment)


@pytest.mark.parametrize("segment", ["index.md", ".monitoring", "chrome-144-en.md", "_config.yml"])
def test_check_segment_accepts_ordinary_names(segment: str) -> None:
    """Names the project writes pass unchanged."""
    assert check_segment(segment) == segment


@pytest.mark.parametrize(
    "text", ["/etc/passwd", "../x", "a/../../x", "C:/x", "c:x", "a\\b", "a\x00", "", "a/" * 13]
)
def test_relative_path_rejects_escapes(text: str) -> None:
    """Absolute, parent, drive, backslash, NUL, empty and too-deep paths are refused."""
    with pytest.raises(UnsafePathError):
        relative_path(text)


def test_relative_path_normalises_redundant_separators() -> None:
    """``a//./b/`` is the same path as ``a/b``."""
    assert relative_path("a//./b/") == PurePosixPath("a/b")


def test_confine_rejects_a_sibling_directory_with_the_root_as_prefix(tmp_path: Path) -> None:
    """``<root>_evil`` starts with the root's string but is not inside it."""
    workspace, _, _ = _layout(tmp_path)
    with pytest.raises(UnsafePathError):
        confine(workspace.root, PurePosixPath("../ws_evil/x"))


def test_confine_rejects_a_symlink_that_points_outside(tmp_path: Path) -> None:
    """A path through a symlink to a directory outside the root escapes and is refused."""
    workspace, _, _ = _layout(tmp_path)
    with pytest.raises(UnsafePathError, match="escapes"):
        workspace.path(PurePosixPath("link_out/passwd"))


def test_confine_allows_a_symlink_that_stays_inside(tmp_path: Path) -> None:
    """A symlink to a directory inside the root resolves to that directory."""
    workspace, _, _ = _layout(tmp_path)
    assert workspace.path(PurePosixPath("link_in/x.md")) == workspace.root.resolve() / "sub/x.md"


def test_confine_turns_a_symlink_loop_into_an_unsafe_path_error(tmp_path: Path) -> None:
    """A self-referencing symlink is an input error, not a crash."""
    workspace, _, _ = _layout(tmp_path)
    with pytest.raises(UnsafePathError):
        workspace.path(PurePosixPath("loop/x"))


def test_confining_many_paths_agrees_with_confining_each_through_nested_links(
    tmp_path: Path,
) -> None:
    """Folders below a link inside the root resolve through it; a link out anywhere in a
    batch refuses the batch, as it refuses the single path."""
    workspace, _, _ = _layout(tmp_path)
    (workspace.root / "sub" / "deep").mkdir()
    (workspace.root / "sub" / "up").symlink_to(workspace.root / "link_in", target_is_directory=True)
    rels = [
        PurePosixPath(text)
        for text in ("a/b/c.md", "a/b/d.md", "link_in/deep/x.md", "sub/up/deep/y.md", "z.md")
    ]
    assert workspace.paths(rels) == [workspace.path(rel) for rel in rels]
    assert workspace.paths(rels)[2] == workspace.root.resolve() / "sub/deep/x.md"
    (workspace.root / "sub" / "out").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(UnsafePathError, match="escapes"):
        workspace.paths([*rels, PurePosixPath("link_in/out/deeper/x.md")])


def test_confine_rejects_the_root_itself(tmp_path: Path) -> None:
    """The root is not a file the project may write."""
    with pytest.raises(UnsafePathError):
        confine(tmp_path, PurePosixPath("."))


def test_layout_helpers_build_the_documented_paths() -> None:
    """Release notes, area data, digests and monitoring files land where the layout says."""
    key = ReleaseKey(144, Channel.BETA)
    assert Workspace.release_note_rel(Product.CHROME, 144, Channel.BETA) == PurePosixPath(
        "release_notes/chrome-144-beta.md"
    )
    assert Workspace.release_note_rel(Product.WEBGPU, 130, Channel.STABLE) == PurePosixPath(
        "release_notes/webgpu-130.md"
    )
    assert Workspace.area_data_rel("css", key) == PurePosixPath(
        "processed/areas/css/chrome-144-beta.yml"
    )
    assert Workspace.digest_rel("css", key, Language.ZH) == PurePosixPath(
        "digest_markdown/areas/css/chrome-144-beta-zh.md"
    )
    with pytest.raises(UnsafePathError):
        Workspace.digest_rel("../x", key, Language.EN)


path_texts = st.lists(
    st.one_of(st.sampled_from(HOSTILE_FRAGMENTS), st.text(max_size=12)), min_size=1, max_size=6
).map("".join) | st.lists(st.sampled_from(HOSTILE_FRAGMENTS), max_size=5).map("/".join)


def _snapshot(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.mark.slow
def test_fuzzed_paths_never_write_outside_the_root(tmp_path: Path) -> None:
    """Over 1 000 hostile paths: only UnsafePathError, and every accepted write stays inside."""
    workspace, sibling, outside = _layout(tmp_path)
    base_entries = sorted(os.listdir(tmp_path))
    root = workspace.root.resolve()
    accepted: list[Path] = []

    @settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(text=path_texts)
    def attempt(text: str) -> None:
        try:
            target = workspace.path(relative_path(text))
        except UnsafePathError:
            with pytest.raises(UnsafePathError):
                workspace.paths([relative_path(text)])
            return
        assert workspace.paths([relative_path(text)]) == [target]
        assert target.is_relative_to(root)
        assert target != root
        try:
            atomic_write(target, b"fuzz")
        except WriteError:  # e.g. a directory or a file where a folder is needed: refused, fine
            return
        accepted.append(target)

    attempt()
    assert _snapshot(sibling) == []
    assert _snapshot(outside) == []
    assert sorted(os.listdir(tmp_path)) == base_entries
    assert all(p.resolve().is_relative_to(root) for p in accepted)
