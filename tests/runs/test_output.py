"""Digest files: one write path for both languages; unchanged digests are not rewritten."""

from dataclasses import replace

from webplatform_digest.digest.files import parse_digest_file
from webplatform_digest.models import AreaDigest, Channel, DigestStatus, Language
from webplatform_digest.runs.output import digest_rel, stamped, write_digests
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import DirectWriter

DIGEST = AreaDigest(
    area="css",
    version=144,
    channel=Channel.STABLE,
    language=Language.EN,
    markdown="## A\n\nText.\n",
    status=DigestStatus.OK,
    backend="openai",
    title="CSS and UI — Chrome 144",
)


def test_both_languages_land_next_to_each_other() -> None:
    """en and zh files share the area directory and release slug."""
    assert str(digest_rel(DIGEST)) == "digest_markdown/areas/css/chrome-144-en.md"
    zh = replace(DIGEST, language=Language.ZH, channel=Channel.BETA)
    assert str(digest_rel(zh)) == "digest_markdown/areas/css/chrome-144-beta-zh.md"


def test_an_unchanged_digest_keeps_its_timestamp_and_a_changed_one_gets_a_new_one() -> None:
    """Body, status, backend and title decide; the timestamp follows."""
    old = replace(DIGEST, generated_at="2026-01-01T00:00:00Z")
    assert stamped(DIGEST, old, "NOW").generated_at == "2026-01-01T00:00:00Z"
    assert stamped(replace(DIGEST, markdown="## A\n\nNew.\n"), old, "NOW").generated_at == "NOW"
    assert stamped(replace(DIGEST, backend="sampling"), old, "NOW").generated_at == "NOW"
    assert stamped(replace(DIGEST, status=DigestStatus.RETRIED), old, "NOW").generated_at == "NOW"
    assert stamped(DIGEST, None, "NOW").generated_at == "NOW"


def test_a_cache_answer_equal_to_the_file_keeps_the_files_status() -> None:
    """A cached re-run reproduces the file exactly instead of flipping it to 'cached'."""
    old = replace(DIGEST, status=DigestStatus.RETRIED, reason="fixed", generated_at="T0")
    kept = stamped(replace(DIGEST, status=DigestStatus.CACHED), old, "NOW")
    assert (kept.status, kept.reason, kept.generated_at) == (DigestStatus.RETRIED, "fixed", "T0")


async def test_a_second_write_of_the_same_digests_changes_nothing(workspace: Workspace) -> None:
    """First write creates both files; the second reports them unchanged."""
    writer = DirectWriter(workspace)
    digests = [DIGEST, replace(DIGEST, language=Language.ZH, markdown="## 甲\n\n文本。\n")]
    first = await write_digests(writer, workspace, digests, "2026-01-13T10:00:00Z")
    assert len(first.result.written) == 2
    second = await write_digests(writer, workspace, digests, "2026-02-01T00:00:00Z")
    assert (second.result.written, len(second.result.unchanged)) == ((), 2)
    on_disk = parse_digest_file(workspace.path(digest_rel(digests[1])).read_bytes())
    assert on_disk.generated_at == "2026-01-13T10:00:00Z"
    assert on_disk.markdown == "## 甲\n\n文本。\n"


async def test_a_corrupt_existing_file_is_replaced(workspace: Workspace) -> None:
    """A file without front matter does not block the write."""
    path = workspace.path(digest_rel(DIGEST))
    path.parent.mkdir(parents=True)
    path.write_text("garbage", encoding="utf-8")
    result = await write_digests(DirectWriter(workspace), workspace, [DIGEST], "NOW")
    assert len(result.result.written) == 1
    assert parse_digest_file(path.read_bytes()).generated_at == "NOW"
