"""Writing finished digests: ``digest_markdown/areas/<area>/chrome-<v>-{en,zh}.md`` (I/O).

English and Chinese share this one write path. A digest no model wrote never replaces a model
digest on disk (``digest.keep``): that file is kept, marked stale if its area data changed. A
digest whose body, status and backend equal the file on disk keeps that file's
``generated_at``, so its bytes are identical and the writer leaves the file alone: an unchanged
re-run rewrites nothing.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import PurePosixPath

import anyio

from webplatform_digest.digest.files import parse_digest_file, render_digest_file
from webplatform_digest.digest.keep import keep_decision
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
        and existing.input_hash == digest.input_hash
        and existing.stale == digest.stale
    )


@dataclass(frozen=True, slots=True)
class KeptDigest:
    """A model digest a run kept instead of writing its own fallback."""

    area: str
    language: str
    reason: str


@dataclass(frozen=True, slots=True)
class DigestFiles:
    """The files of some finished digests, and the model digests kept among them."""

    files: dict[PurePosixPath, bytes]
    kept: tuple[KeptDigest, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestWrite:
    """What writing some finished digests did."""

    result: BatchResult
    kept: tuple[KeptDigest, ...] = ()


def digest_files(
    workspace: Workspace, digests: Sequence[AreaDigest], now_iso: str, *, overwrite: bool = False
) -> DigestFiles:
    """The files (relative path → bytes) of some finished digests; ``overwrite`` replaces
    model digests on disk even with a fallback."""
    files: dict[PurePosixPath, bytes] = {}
    kept: list[KeptDigest] = []
    for digest in digests:
        rel = digest_rel(digest)
        existing = _existing(workspace, rel)
        decision = keep_decision(digest, existing, overwrite=overwrite)
        if decision.kept:
            kept.append(KeptDigest(digest.area, digest.language.value, decision.kept_reason))
            if existing is not None and not _same_content(decision.digest, existing):
                files[rel] = render_digest_file(decision.digest)  # only the stale mark changes
            continue
        files[rel] = render_digest_file(stamped(digest, existing, now_iso))
    return DigestFiles(files, tuple(kept))


async def write_digests(
    writer: BatchWriter,
    workspace: Workspace,
    digests: Sequence[AreaDigest],
    now_iso: str,
    *,
    overwrite: bool = False,
) -> DigestWrite:
    """Write some finished digests as one batch; unchanged files are not rewritten and model
    digests are kept rather than replaced by fallbacks (unless ``overwrite``).

    Raises:
        WriteError: a file could not be written (the old one is intact).
    """
    if not digests:
        return DigestWrite(BatchResult())
    # reading the files on disk and rendering the new ones: file I/O and YAML, off the loop
    planned = await anyio.to_thread.run_sync(
        partial(digest_files, workspace, digests, now_iso, overwrite=overwrite)
    )
    if not planned.files:
        return DigestWrite(BatchResult(), planned.kept)
    result = await writer.write_batch(planned.files, kind=WRITE_KIND)
    return DigestWrite(result, planned.kept)
