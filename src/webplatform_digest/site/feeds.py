"""Atom feeds of the Jekyll site (pure): one per language, one per area and language.

Each release-area digest is an entry. Links must be absolute in a feed, and only Jekyll knows
the site's ``url`` and ``baseurl``, so every link is written as Liquid's ``absolute_url``
filter on a site path we build ourselves; all other text is XML-escaped with ``{``/``}`` as
character references, so no Liquid of a digest title can run. Entry ids are ``urn:uuid``s
derived from the digest's identity (stable whatever the URL), ``updated`` is the digest's
``generated_at``: the same digests give the same bytes, so an unchanged re-run writes nothing.
"""

import re
import uuid
from collections.abc import Iterator
from pathlib import PurePosixPath
from xml.sax.saxutils import escape

from webplatform_digest.models import Language, ReleaseKey
from webplatform_digest.site.model import (
    DigestEntry,
    PageKind,
    PageRef,
    SiteModel,
    feed_path,
    page_parts,
    release_label,
)
from webplatform_digest.site.pages import HTML_LANG, label

#: ``updated`` of a digest without a usable ``generated_at`` (Atom requires one)
EPOCH = "1970-01-01T00:00:00Z"
_NAMESPACE = uuid.UUID("5f0d8a43-3c57-4f55-9a53-3f1c1d6c2b11")
#: characters XML 1.0 does not allow in a document
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(text: str) -> str:
    """Our text as XML character data that Liquid leaves alone."""
    escaped = escape(_NOT_XML.sub("", text), {'"': "&quot;"})
    return escaped.replace("{", "&#123;").replace("}", "&#125;")


def _absolute(site_path: str) -> str:
    """A Liquid expression for the absolute URL of a site path (only our own path characters)."""
    assert re.fullmatch(r"/[A-Za-z0-9/_.-]*", site_path), site_path
    return "{{ '" + site_path + "' | absolute_url | xml_escape }}"


def page_url(page: PageRef) -> str:
    """A page's path from the site root: ``/zh/areas/css/`` or ``/versions/chrome-144/css.html``."""
    parts = page_parts(page)
    if page.stem != "index":
        return "/" + "/".join([*parts, f"{page.stem}.html"])
    return "/" + "".join(f"{part}/" for part in parts)


def _urn(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join(parts))}"


def _entries(model: SiteModel, language: Language, area: str | None) -> list[DigestEntry]:
    return [
        entry
        for key in model.releases
        for candidate in ((area,) if area else model.area_ids)
        if (entry := model.digests.get((key, candidate, language))) is not None
    ]


def _summary(entry: DigestEntry, language: Language) -> str:
    count = label(language, "count_feature" if len(entry.features) == 1 else "count_features",
                  n=len(entry.features))  # fmt: skip
    if language is Language.ZH:
        return f"{count}：{'；'.join(entry.features)}" if entry.features else count
    return f"{count}: {'; '.join(entry.features)}" if entry.features else count


def _entry(entry: DigestEntry, area_label: str) -> str:
    language = entry.language
    page = PageRef(PageKind.DIGEST, language, entry.key, entry.area)
    title = entry.title or f"{area_label} — {release_label(entry.key, language)}"
    return "\n".join(
        [
            "<entry>",
            f"<title>{_text(title)}</title>",
            f'<link rel="alternate" type="text/html" href="{_absolute(page_url(page))}"/>',
            f"<id>{_urn(language.value, entry.key.slug, entry.area)}</id>",
            f"<updated>{entry.generated_at or EPOCH}</updated>",
            f'<category term="{_text(entry.area)}" label="{_text(area_label)}"/>',
            f"<summary>{_text(_summary(entry, language))}</summary>",
            "</entry>",
        ]
    )


def render_feed(
    model: SiteModel,
    language: Language,
    area: str | None = None,
    entries: dict[tuple[ReleaseKey, str], str] | None = None,
) -> bytes:
    """The Atom feed of the site (or of ``area``) in ``language``, newest release first;
    ``entries`` holds the entry elements already made for this language."""
    digests = _entries(model, language, area)
    made = entries if entries is not None else {}
    for entry in digests:
        if (entry.key, entry.area) not in made:
            made[(entry.key, entry.area)] = _entry(entry, model.area(entry.area).label(language))
    path = feed_path(language, area)
    home = PageRef(PageKind.HOME, language) if area is None else PageRef(
        PageKind.AREA, language, area=area
    )  # fmt: skip
    site = label(language, "site")
    title = site if area is None else f"{model.area(area).label(language)} · {site}"
    updated = max((entry.generated_at for entry in digests if entry.generated_at), default=EPOCH)
    lines = [
        "---",
        "layout: null",
        "---",
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{HTML_LANG[language]}">',
        f"<title>{_text(title)}</title>",
        f"<subtitle>{_text(label(language, 'intro'))}</subtitle>",
        f'<link rel="self" type="application/atom+xml" href="{_absolute("/" + str(path))}"/>',
        f'<link rel="alternate" type="text/html" href="{_absolute(page_url(home))}"/>',
        f"<id>{_urn('feed', language.value, area or '')}</id>",
        f"<updated>{updated}</updated>",
        f"<author><name>{_text(site)}</name></author>",
        *(made[(entry.key, entry.area)] for entry in digests),
        "</feed>",
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _feeds(model: SiteModel) -> Iterator[tuple[Language, str | None]]:
    for language in model.languages:
        yield language, None
        for area in model.areas:
            yield language, area.id


def feed_paths(model: SiteModel) -> tuple[PurePosixPath, ...]:
    """Every feed file of the site, relative to ``digest_markdown/``."""
    return tuple(feed_path(language, area) for language, area in _feeds(model))


def render_feeds(model: SiteModel) -> dict[PurePosixPath, bytes]:
    """Every feed of the site by path relative to ``digest_markdown/``."""
    made: dict[Language, dict[tuple[ReleaseKey, str], str]] = {}
    return {
        feed_path(lang, area): render_feed(model, lang, area, made.setdefault(lang, {}))
        for lang, area in _feeds(model)
    }
