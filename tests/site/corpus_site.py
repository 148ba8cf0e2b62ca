"""The real corpus as a site: offline digests of Chrome releases (with their WebGPU notes) and
the code lines of the notes, for the end-to-end site tests."""

from pathlib import Path

from tests.conftest import CORPUS_DIR, REPO_ROOT
from tests.site_samples import write_digest
from webplatform_digest.areas.data import area_data_set
from webplatform_digest.digest.prompts import (
    Subject,
    digest_title,
    fallback_chinese,
    fallback_english,
)
from webplatform_digest.models import AreaDigest, DigestStatus, Language, Release, ReleaseKey
from webplatform_digest.releases.blocks import scan_lines
from webplatform_digest.releases.notes import parse_release
from webplatform_digest.storage.area_store import load_catalog
from webplatform_digest.storage.workspace import Workspace

CATALOG = load_catalog()
_CORPUS = Path("shared") / "corpus" / "release_notes"


def find_corpus() -> Path | None:
    """The real corpus: ``../shared`` of the repository (``CORPUS_DIR``) or, for a git worktree
    kept one folder deeper, of a folder further up; None where absent."""
    if CORPUS_DIR.is_dir():
        return CORPUS_DIR
    for parent in REPO_ROOT.parents[1:3]:
        if (parent / _CORPUS / "chrome-144.md").is_file():
            return parent / _CORPUS
    return None


NAMES = {area.id: (area.name, area.name_zh or area.name) for area in CATALOG.areas}


def _release(path: Path) -> Release | None:
    if not path.is_file():
        return None
    return parse_release(path.read_text(encoding="utf-8"), source=path.name)


def corpus_digests(corpus: Path, version: int) -> list[AreaDigest]:
    """The offline (fallback) digests of Chrome ``version`` in English and Chinese."""
    release = _release(corpus / f"chrome-{version}.md")
    assert release is not None
    webgpu = _release(corpus / f"webgpu-{version}.md")
    key = ReleaseKey(version)
    found: list[AreaDigest] = []
    for area, data in area_data_set(CATALOG.classify_release(release, webgpu), key).items():
        names = CATALOG.get(area)
        subject = Subject(data, names.name, names.name_zh)
        english = fallback_english(subject)
        for language, body in ((Language.EN, english), (Language.ZH, fallback_chinese(english))):
            found.append(
                AreaDigest(area, version, key.channel, language, body, DigestStatus.FALLBACK,
                           "offline", title=digest_title(subject, language),
                           generated_at="2026-01-13T10:00:00Z")
            )  # fmt: skip
    return found


def write_corpus_digests(workspace: Workspace, corpus: Path, versions: range) -> int:
    """Write the offline digests of ``versions``; returns how many."""
    count = 0
    for version in versions:
        for item in corpus_digests(corpus, version):
            write_digest(workspace, item)
            count += 1
    return count


def _dedent(line: str) -> str:
    return line[4:] if line.startswith("    ") else line.lstrip("\t")


def note_code_lines(path: Path) -> list[str]:
    """The non-blank code lines of a note (indented code without its indent, fenced code
    without the fences)."""
    lines = scan_lines(path.read_text(encoding="utf-8").split("\n"), source=path.name)
    code: list[str] = []
    fenced = False
    for line in lines:
        if not line.code:
            continue
        marker = line.text.strip().startswith(("```", "~~~"))
        if marker:
            fenced = not fenced
        elif line.text.strip():
            code.append(line.text if fenced else _dedent(line.text))
    return code
