"""Writing finished digests: ``digest_markdown/areas/<area>/chrome-<v>-{en,zh}.md`` (I/O).

English and Chinese share this one write path. A digest whose body, status and backend equal
the file on disk keeps that file's ``generated_at``, so its bytes are identical and the writer
leaves the file alone: an unchanged re-run rewrites nothing.
"""

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from webplatform_digest.digest.files import parse_digest_file, render_digest_file
from webplatform_digest.errors import ParseError, UnsafePathError
from webplatform_digest.models import AreaDigest, DigestStatus, ReleaseKey
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import BatchResult, BatchWriter

log = logging.getLogger(__name__)

#: write-queue job kind of digest files (telemetry label)
WRITE_KIND = "digest"


def digest_rel(digest: AreaDigest) -> PurePosixPath:
    """Where a digest is written, relative to the workspace root."""
    key = ReleaseKey(digest.version, digest.channel)
    return Workspace.digest_rel(digest.area, key, digest.language)


def _existing(workspace: Workspace, rel: PurePosixPath) -> AreaDigest | None:
    try:
        data = workspace.path(rel).read_bytes()
    except (OSError, UnsafePathError):
        return None
    try:
        return parse_digest_file(data, source=str(rel))
    except ParseError as exc:
        log.warning("existing digest %s unreadable, rewriting it: %s", rel, exc)
        return None


def stamped(digest: AreaDigest, existing: AreaDigest | None, now_iso: str) -> AreaDigest:
    """``digest`` as it should be written: the file on disk if nothing it shows changed.

    A cache answer reproduces an earlier LLM reply: when its text equals the file's, the file
    keeps its own status (``ok``/``retried``) and timestamp, so a cached re-run rewrites nothing.
    """
    if existing is not None and _same_content(digest, existing):
        if digest.status is DigestStatus.CACHED:
            return replace(
                digest,
                status=existing.status,
                reason=existing.reason,
                generated_at=existing.generated_at,
            )
        if existing.status is digest.status and existing.reason == digest.reason:
            return replace(digest, generated_at=existing.generated_at)
    return replace(digest, generated_at=now_iso)


def _same_content(digest: AreaDigest, existing: AreaDigest) -> bool:
    return (
        existing.markdown.rstrip("\n") == digest.markdown.rstrip("\n")
        and existing.backend == digest.backend
        and existing.title == digest.title
    )


def digest_files(
    workspace: Workspace, digests: Sequence[AreaDigest], now_iso: str
) -> dict[PurePosixPath, bytes]:
    """The files (relative path → bytes) of some finished digests."""
    files: dict[PurePosixPath, bytes] = {}
    for digest in digests:
        rel = digest_rel(digest)
        files[rel] = render_digest_file(stamped(digest, _existing(workspace, rel), now_iso))
    return files


async def write_digests(
    writer: BatchWriter, workspace: Workspace, digests: Sequence[AreaDigest], now_iso: str
) -> BatchResult:
    """Write some finished digests as one batch; unchanged files are not rewritten.

    Raises:
        WriteError: a file could not be written (the old one is intact).
    """
    if not digests:
        return BatchResult()
    return await writer.write_batch(digest_files(workspace, digests, now_iso), kind=WRITE_KIND)
