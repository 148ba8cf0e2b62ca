"""``generate_github_pages``: the digests on disk become the Jekyll site (and the HTML preview).

```
read digests + manifest   (under the writer's ``reading()``: never half a batch)
  → SiteModel → pages rendered purely (site_jekyll / site_html)
  → one write_batch: pages, then the manifest last; stale generated pages removed
```
The manifest ``digest_markdown/.pages-manifest.json`` lists every file the generator wrote with
its SHA-256, so pages that are no longer valid (an area or release gone) are removed, and a
reader can check that the files on disk are one generation. Nothing is time-stamped, so an
unchanged re-run writes zero files. Given the ``Fingerprints`` taken before the catalogue was
loaded, a whole-site generation ends its batch with ``.monitoring/stamps/pages.json``
(``storage/stamps.py``), from which the CLI answers an unchanged re-run; the stamp is never
counted in the summary.
"""

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Literal

import anyio

from webplatform_digest.clock import Clock, monotonic
from webplatform_digest.digest.languages import parse_languages
from webplatform_digest.errors import NotFoundError, ParseError, UnsafePathError
from webplatform_digest.events import Telemetry
from webplatform_digest.models import AREA_ID_PATTERN, Language, parse_version
from webplatform_digest.services.summaries import PagesSummary, pages_event
from webplatform_digest.site.feeds import feed_paths
from webplatform_digest.site.html import preview_entry, render_html_site
from webplatform_digest.site.jekyll import page_path as markdown_path
from webplatform_digest.site.jekyll import render_jekyll_site, static_paths
from webplatform_digest.site.model import (
    DIGEST_NAME,
    AreaCatalogue,
    AreaNames,
    DigestEntry,
    PageKind,
    PageRef,
    SiteModel,
    area_names,
    build_site_model,
    entry_from_file,
)
from webplatform_digest.storage.stamps import (
    PAGES_STAMP,
    Fingerprints,
    digest_source_bytes,
    output_hashes,
    render_stamp,
    source_hashes,
)
from webplatform_digest.storage.workspace import Workspace, relative_path
from webplatform_digest.storage.writers import BatchWriter, ConsistentReader

log = logging.getLogger(__name__)

LanguageChoice = Literal["en", "zh", "bilingual"]
MANIFEST = Workspace.DIGESTS / ".pages-manifest.json"
_MANIFEST_FORMAT = 1
_PAGE_SUFFIXES = frozenset({".md", ".html"})


_Scanned = tuple[list[DigestEntry], list[str], dict[str, str]]


def scan_digests(workspace: Workspace, read: Mapping[str, bytes] | None = None) -> _Scanned:
    """Every readable digest, the digests skipped (with why) and the previous manifest's files
    (blocking; run in a thread). ``read``: digests already read, by workspace-relative path."""
    entries: list[DigestEntry] = []
    skipped: list[str] = []
    areas = workspace.path(Workspace.DIGESTS / "areas")
    folders = sorted(areas.iterdir()) if areas.is_dir() else []
    for folder in folders:
        if folder.is_symlink() or not folder.is_dir() or not AREA_ID_PATTERN.fullmatch(folder.name):
            continue
        _scan_folder(workspace, folder, entries, skipped, read or {})
    return entries, skipped, _read_manifest(workspace)


def _scan_folder(
    workspace: Workspace,
    folder: Path,
    entries: list[DigestEntry],
    skipped: list[str],
    read: Mapping[str, bytes],
) -> None:
    rels: list[PurePosixPath] = []
    for path in sorted(p for p in folder.iterdir() if DIGEST_NAME.fullmatch(p.name)):
        rel = Workspace.DIGESTS / "areas" / folder.name / path.name
        if path.is_symlink():  # a digest is a file the digest run wrote, never a link
            skipped.append(f"{rel}: a symlink")
        else:
            rels.append(rel)
    for rel, path in zip(rels, workspace.paths(rels), strict=True):
        try:
            data = read.get(str(rel))
            entries.append(entry_from_file(rel, path.read_bytes() if data is None else data))
        except (ParseError, OSError) as exc:
            log.warning("skipping digest %s: %s", rel, exc)
            skipped.append(f"{rel}: {exc}")


def _read_manifest(workspace: Workspace) -> dict[str, str]:
    try:
        document = json.loads(workspace.path(MANIFEST).read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", MANIFEST, exc)
        return {}
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, dict):
        return {}
    return {str(k): str(v) for k, v in files.items() if isinstance(k, str) and isinstance(v, str)}


def render_manifest(files: Mapping[str, str]) -> bytes:
    """The manifest document (sorted, no timestamps: identical input gives identical bytes)."""
    document = {"format": _MANIFEST_FORMAT, "files": dict(sorted(files.items()))}
    return (json.dumps(document, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def _removable(path: str) -> bool:
    """Only pages this generator could have written may be removed (never a digest source):
    ``index.md``/``.html`` anywhere in the site, a digest page in ``versions/<release>/``, or
    a ``feed.xml``."""
    try:
        rel = relative_path(path)
    except UnsafePathError:
        return False
    roots = (Workspace.DIGESTS.name, Workspace.SITE.name)
    if len(rel.parts) >= 2 and rel.parts[0] == Workspace.DIGESTS.name and rel.name == "feed.xml":
        return True
    if len(rel.parts) < 2 or rel.parts[0] not in roots or rel.suffix not in _PAGE_SUFFIXES:
        return False
    return rel.stem == "index" or (len(rel.parts) >= 4 and rel.parts[-3] == "versions")


def select_pages(
    model: SiteModel, version: int | None, languages: tuple[Language, ...]
) -> tuple[PageRef, ...]:
    """All navigation pages, plus the digest pages of ``version`` (all if None) in ``languages``."""
    return tuple(
        page
        for page in model.pages()
        if page.kind is not PageKind.DIGEST
        or (
            page.language in languages
            and (version is None or (page.release is not None and page.release.version == version))
        )
    )


def render_site(
    model: SiteModel, pages: tuple[PageRef, ...], *, html: bool
) -> dict[PurePosixPath, bytes]:
    """Every file of the chosen pages, by workspace-relative path (pure)."""
    files = {Workspace.DIGESTS / p: data for p, data in render_jekyll_site(model, pages).items()}
    if html:
        files.update(
            {Workspace.SITE / p: data for p, data in render_html_site(model, pages).items()}
        )
    return files


def _valid_paths(model: SiteModel) -> set[str]:
    # joined as text: the same strings as joining the paths, without a path object per page;
    # a page's preview file is its markdown file's path with ``.html`` for ``.md``
    site, preview = f"{Workspace.DIGESTS}/", f"{Workspace.SITE}/"
    valid = {site + str(p) for p in (*static_paths(), *feed_paths(model))}
    for page in model.pages():
        name = str(markdown_path(page))
        valid.add(site + name)
        valid.add(preview + name.removesuffix(".md") + ".html")
    return valid


def plan_commit(
    model: SiteModel, rendered: Mapping[PurePosixPath, bytes], previous: Mapping[str, str]
) -> tuple[dict[PurePosixPath, bytes], tuple[PurePosixPath, ...]]:
    """The batch (rendered files, then the new manifest last) and the stale pages to remove."""
    valid = _valid_paths(model)
    kept = {path: digest for path, digest in previous.items() if path in valid}
    kept.update({str(p): hashlib.sha256(data).hexdigest() for p, data in rendered.items()})
    stale = sorted(p for p in previous if p not in valid and _removable(p))
    files = dict(rendered)
    files[MANIFEST] = render_manifest(kept)
    return files, tuple(PurePosixPath(p) for p in stale)


def _choices(version: object, language: object) -> tuple[int | None, tuple[Language, ...]]:
    # no choice: English and Chinese as always, plus every language a digest is written in
    # (the model adds those, and all their digest pages are rendered)
    languages = parse_languages("bilingual" if language is None else language)
    return (None if version is None else parse_version(version)), languages


def _scan_stamped(workspace: Workspace, stamped: bool) -> tuple[_Scanned, dict[str, str] | None]:
    """The scan, and the stamp's input hashes of the very bytes the pages are made from; None
    when no stamp is wanted or one cannot be trusted."""
    sources = digest_source_bytes(workspace) if stamped else None
    if sources is None:
        return scan_digests(workspace), None
    return scan_digests(workspace, sources), source_hashes(sources)


async def _read(
    workspace: Workspace, writer: BatchWriter, *, stamped: bool
) -> tuple[_Scanned, dict[str, str] | None]:
    if isinstance(writer, ConsistentReader):
        async with writer.reading():
            return await anyio.to_thread.run_sync(_scan_stamped, workspace, stamped)
    return await anyio.to_thread.run_sync(_scan_stamped, workspace, stamped)


def _stamp(
    fingerprints: Fingerprints,
    sources: Mapping[str, str],
    files: Mapping[PurePosixPath, bytes],
    request: Mapping[str, int | bool | None],
    summary: PagesSummary,
) -> bytes:
    """What an unchanged re-run checks (request, inputs, outputs) and what it reports."""
    return render_stamp(
        {
            "command": "pages",
            **fingerprints.to_json(),
            "request": dict(request),
            "inputs": dict(sources),
            "outputs": output_hashes(files),
            "summary": {
                "pages": summary.pages,
                "unchanged": len(files),
                "preview": summary.preview,
            },
        }
    )


async def generate_pages(
    workspace: Workspace,
    catalog_names: AreaNames | AreaCatalogue,
    writer: BatchWriter,
    *,
    version: int | str | None = None,
    language: LanguageChoice | str | list[str] | None = None,
    html: bool = False,
    telemetry: Telemetry | None = None,
    clock: Clock = monotonic,
    stamp: Fingerprints | None = None,
) -> PagesSummary:
    """Build the site from the digests on disk and write it as one batch (ending with the
    site's stamp, given ``stamp`` and no ``language`` choice).

    Raises:
        InputError: bad ``version`` or ``language``.
        NotFoundError: no digests at all, or none for ``version``.
        WriteError: the commit failed (the previous site is intact); ``WorkspaceBusyError``
            when another process holds the workspace.
    """
    started = clock()
    chosen_version, languages = _choices(version, language)
    stamped = stamp is not None and language is None
    (entries, skipped, previous), sources = await _read(workspace, writer, stamped=stamped)
    # rendering hundreds of pages takes a few hundred milliseconds of CPU: off the event loop
    compose = partial(
        _compose,
        entries,
        area_names(catalog_names),
        languages,
        chosen_version=chosen_version,
        every_language=language is None,
        html=html,
        previous=previous,
    )
    files, stale, page_count = await anyio.to_thread.run_sync(compose)
    planned = PagesSummary(
        pages=page_count * (2 if html else 1),
        written=0,
        unchanged=0,
        removed=0,
        wall_seconds=0.0,
        preview=str(Workspace.SITE / preview_entry()) if html else None,
        skipped=tuple(skipped),
    )
    batch = dict(files)
    if stamp is not None and sources is not None and not skipped:
        request = {"version": chosen_version, "html": html}
        batch[PAGES_STAMP] = _stamp(stamp, sources, files, request, planned)
    result = await writer.write_batch(batch, kind="page", remove=stale)
    summary = replace(
        planned,
        written=sum(1 for path in result.written if path != PAGES_STAMP),
        unchanged=sum(1 for path in result.unchanged if path != PAGES_STAMP),
        removed=len(result.removed),
        wall_seconds=clock() - started,
    )
    _emit(telemetry, summary)
    return summary


def _compose(
    entries: Sequence[DigestEntry],
    names: AreaNames,
    languages: tuple[Language, ...],
    *,
    chosen_version: int | None,
    every_language: bool,
    html: bool,
    previous: Mapping[str, str],
) -> tuple[dict[PurePosixPath, bytes], tuple[PurePosixPath, ...], int]:
    """The batch, the stale pages and the number of pages rendered (pure: no I/O).

    Raises:
        NotFoundError: no digests at all, or none for ``chosen_version``.
    """
    model = build_site_model(entries, names, languages)
    _require_digests(model, chosen_version)
    pages = select_pages(model, chosen_version, model.languages if every_language else languages)
    rendered = render_site(model, pages, html=html)
    files, stale = plan_commit(model, rendered, previous)
    return files, stale, len(pages)


def _emit(telemetry: Telemetry | None, summary: PagesSummary) -> None:
    (telemetry or Telemetry()).emit(pages_event(summary))


def _require_digests(model: SiteModel, version: int | None) -> None:
    where = f"{Workspace.DIGESTS}/areas"
    if not model.releases:
        raise NotFoundError(
            f"no digests found under {where}; write some first with `webplatform-digest run`"
        )
    if version is not None and all(key.version != version for key in model.releases):
        shown = ", ".join(str(v) for v in sorted({key.version for key in model.releases})[-10:])
        raise NotFoundError(
            f"no digests of Chrome {version} under {where} (digests exist for: {shown}); "
            f"write them first with `webplatform-digest run --version {version}`"
        )
