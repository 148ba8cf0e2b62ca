"""Whether the workspace can be written: one probe, nothing left behind."""

from pathlib import Path

from webplatform_digest.storage.access import write_refusal


def test_a_writable_workspace_has_no_refusal_and_keeps_no_probe_file(tmp_path: Path) -> None:
    assert write_refusal(tmp_path) is None
    assert list((tmp_path / ".monitoring").iterdir()) == []


def test_a_workspace_whose_monitoring_folder_cannot_be_made_is_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    (tmp_path / ".monitoring").write_text("a file where the folder goes")

    assert write_refusal(tmp_path) == "File exists"


def test_a_missing_root_is_a_wrong_path_not_a_read_only_workspace(tmp_path: Path) -> None:
    assert write_refusal(tmp_path / "absent") is None
