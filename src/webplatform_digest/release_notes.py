"""Parse Chrome and WebGPU release-note markdown into a ``Release`` (pure).

Chrome notes: H2 sections hold H3 features; deeper headings stay inside their feature. An H2
whose own text carries a ChromeStatus feature or tracking-bug link is itself a feature (it joins
the section right above it when that section is still empty). Section intros ("This release adds
six new CSS and UI features.") are not features. "Further reading", "Download Google Chrome"
and the site footer are dropped.

WebGPU notes: each H2 is a feature (H3s inside it stay inside), except an H2 with no text of its
own above its H3s ("Key Updates", "Dawn updates"), whose H3s are the features. The "What's New
in WebGPU" history section lists older releases and is dropped.

Error policy: parsing is best-effort and never raises anything but ``ParseError`` (and
``InvalidVersionError`` for a bad explicit ``version``). ``ParseError`` names the source and line
when the text cannot be a release note: no ``##``/``###`` heading at all, no way to tell the
version, a never-closed code fence, or a text over ``MAX_TEXT_CHARS``. Any other oddity (orphan
H3s, empty headings, stray H1s, unknown sections) still yields a ``Release``.
"""

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from webplatform_digest.errors import ParseError
from webplatform_digest.links import DEFAULT_BASE_URL, extract_links
from webplatform_digest.markdown_blocks import (
    Block,
    Line,
    body_text,
    is_blank,
    prose,
    scan_page,
)
from webplatform_digest.models import (
    MAX_VERSION,
    MIN_VERSION,
    Channel,
    Feature,
    Link,
    LinkType,
    Product,
    Release,
    parse_version,
)

MAX_TEXT_CHARS = 16 * 1024 * 1024
WEBGPU_SECTION = "WebGPU"
#: section name given to H3 features that appear before any H2
ORPHAN_SECTION = "(untitled section)"

_BOILERPLATE = ("further reading", "download google chrome", "download chrome")
_BOILERPLATE_PREFIX = ("what's new in webgpu", "what’s new in webgpu")
_PAGE_CHROME = re.compile(r"\s*Stay organized with collections.*$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NUMBERING = re.compile(r"^\d{1,3}[.)][ \t]+")
_HEADING_ID = re.compile(r"[ \t]*\{#[^}]*\}$")
_SPACES = re.compile(r"\s+")
_SOURCE = re.compile(r"^\s*Source:\s*<?(https?://[^\s>]+)>?\s*$", re.IGNORECASE)
_TITLE_VERSION = re.compile(r"\b(?:chrome|webgpu)\s+(\d{1,3})\b", re.IGNORECASE)
_URL_VERSION = re.compile(
    r"/(?:release-notes/|blog/chrome-|blog/new-in-webgpu-|blog/new-in-chrome-)(\d{1,3})\b"
)
_FILE_NAME = re.compile(r"^(chrome|webgpu)-(\d{1,3})(-beta)?(?:\.[A-Za-z0-9_-]+)*$")
_BETA = re.compile(r"\bbeta\b", re.IGNORECASE)
_STABLE = re.compile(r"\bstable\b", re.IGNORECASE)
_DATE_LINE = re.compile(
    r"(?:release date:?\**:?|(?:stable|beta) as of|^\s*\**Published:?\**:?)\s*(.+)",
    re.IGNORECASE,
)
_DATE_MDY = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")
_DATE_DMY = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})")
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]


@dataclass(frozen=True, slots=True)
class _Identity:
    product: Product
    version: int
    channel: Channel


def parse_release(
    text: str,
    *,
    source: str = "<text>",
    product: Product | None = None,
    version: int | None = None,
    channel: Channel | None = None,
) -> Release:
    """Parse one release note. ``source`` (e.g. ``release_notes/chrome-144.md``) names it in
    errors and is a version hint; explicit ``product``/``version``/``channel`` win.

    Raises:
        ParseError: the text cannot be a release note (see the module docstring).
        InvalidVersionError: the explicit ``version`` is out of range.
    """
    if version is not None:
        version = parse_version(version)
    page = scan_page(normalise_text(text, source=source), source=source)
    if not page.blocks:
        raise ParseError("no '##' or '###' headings: not a release note", source=source)
    h1s = [line.heading for line in page.preamble if line.level == 1]
    source_url = _source_url(page.preamble)
    identity = _identity(h1s, source_url, source, product, version, channel)
    base = source_url or DEFAULT_BASE_URL
    if identity.product is Product.WEBGPU:
        features, sections = _webgpu_features(page.blocks, base)
    else:
        features, sections = _chrome_features(page.blocks, base)
    return Release(
        product=identity.product,
        version=identity.version,
        channel=identity.channel,
        title=_title(h1s, identity),
        release_date=_release_date(prose(page.preamble)),
        source_url=source_url,
        features=tuple(features),
        sections=tuple(sections),
    )


def normalise_text(text: str, *, source: str = "<text>") -> str:
    """Newlines to ``\\n``; BOM, control characters and lone surrogates removed.

    Raises:
        ParseError: the text is larger than ``MAX_TEXT_CHARS``.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise ParseError(f"text is larger than {MAX_TEXT_CHARS} characters", source=source)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


# -- identity: product, version, channel ------------------------------------------------


def _identity(
    h1s: list[str],
    source_url: str | None,
    source: str,
    product: Product | None,
    version: int | None,
    channel: Channel | None,
) -> _Identity:
    file_hint = _FILE_NAME.match(_file_stem(source))
    product = product or _detect_product(h1s, source_url, file_hint)
    found = version or _detect_version(h1s, source_url, file_hint)
    if found is None:
        raise ParseError(
            "cannot tell the Chrome version (no title, Source line or file name names it)",
            source=source,
            line=1,
        )
    if product is Product.WEBGPU:
        channel = Channel.STABLE
    return _Identity(product, found, channel or _detect_channel(h1s, source_url, file_hint))


def _file_stem(source: str) -> str:
    name = source.replace("\\", "/").rsplit("/", 1)[-1]
    return name.removesuffix(".md").removesuffix(".markdown")


def _detect_product(
    h1s: list[str], source_url: str | None, file_hint: re.Match[str] | None
) -> Product:
    if any("webgpu" in h1.casefold() for h1 in h1s[:2]):
        return Product.WEBGPU
    if h1s:
        return Product.CHROME
    if source_url and "webgpu" in source_url.casefold():
        return Product.WEBGPU
    if file_hint and file_hint.group(1).lower() == "webgpu":
        return Product.WEBGPU
    return Product.CHROME


def _detect_version(
    h1s: list[str], source_url: str | None, file_hint: re.Match[str] | None
) -> int | None:
    candidates = [m.group(1) for h1 in h1s for m in _TITLE_VERSION.finditer(h1)]
    if source_url and (m := _URL_VERSION.search(source_url)):
        candidates.append(m.group(1))
    if file_hint:
        candidates.append(file_hint.group(2))
    for candidate in candidates:
        number = int(candidate)
        if MIN_VERSION <= number <= MAX_VERSION:
            return number
    return None


def _detect_channel(
    h1s: list[str], source_url: str | None, file_hint: re.Match[str] | None
) -> Channel:
    for h1 in h1s:
        if _BETA.search(h1):
            return Channel.BETA
        if _STABLE.search(h1):
            return Channel.STABLE
    if source_url and re.search(r"-beta\b", source_url):
        return Channel.BETA
    if file_hint and file_hint.group(3):
        return Channel.BETA
    return Channel.STABLE


def _source_url(preamble: list[Line]) -> str | None:
    for line in preamble:
        if not line.code and (m := _SOURCE.match(line.text)):
            return m.group(1)
    return None


def _title(h1s: list[str], identity: _Identity) -> str:
    for h1 in h1s:
        cleaned = _SPACES.sub(" ", _PAGE_CHROME.sub("", h1)).strip()
        if cleaned:
            return cleaned
    if identity.product is Product.WEBGPU:
        return f"What's New in WebGPU (Chrome {identity.version})"
    return f"Chrome {identity.version} ({identity.channel.value})"


def _release_date(lines: list[str]) -> str | None:
    for line in lines:
        match = _DATE_LINE.search(line)
        if match and (found := parse_date(match.group(1))):
            return found
    return None


def parse_date(text: str) -> str | None:
    """ISO date from ``January 13th, 2026``, ``16 April 2024`` or ``2026-01-13``; else None."""
    if m := re.search(r"(\d{4})-(\d{2})-(\d{2})", text):
        return _iso(int(m[1]), int(m[2]), int(m[3]))
    if m := _DATE_MDY.search(text):
        return _iso(int(m[3]), _month(m[1]), int(m[2]))
    if m := _DATE_DMY.search(text):
        return _iso(int(m[3]), _month(m[2]), int(m[1]))
    return None


def _month(name: str) -> int:
    lowered = name.lower()
    for index, month in enumerate(_MONTHS, 1):
        if month.startswith(lowered) and len(lowered) >= 3:
            return index
    return 0


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


# -- features ---------------------------------------------------------------------------


def _chrome_features(blocks: list[Block], base: str) -> tuple[list[Feature], list[str]]:
    features: list[Feature] = []
    sections: list[str] = []
    context: str | None = None  # section the next H3s belong to
    context_empty = False  # that section has neither text nor features yet
    for block in blocks:
        title = block.title
        if title is not None and _is_boilerplate(title):
            context, context_empty = None, False
            continue
        intro_links = extract_links(prose(block.intro), base_url=base)
        if block.head is not None and _has_feature_evidence(intro_links):
            section = context if context is not None and context_empty else block.head.heading
            features.append(_feature(block.head, section, block.intro, intro_links))
            context_empty = False
        else:
            section = title if title is not None else ORPHAN_SECTION
            context_empty = is_blank(block.intro) and not block.subs
        if section != context:
            sections.append(section)
        context = section
        features.extend(
            _feature(sub.head, section, sub.body, extract_links(prose(sub.body), base_url=base))
            for sub in block.subs
        )
    return features, sections


def _webgpu_features(blocks: list[Block], base: str) -> tuple[list[Feature], list[str]]:
    features: list[Feature] = []
    sections: list[str] = [WEBGPU_SECTION]
    for block in blocks:
        title = block.title
        if title is not None and _is_boilerplate(title):
            continue
        if block.head is None or (block.subs and is_blank(block.intro)):
            section = title if title is not None else WEBGPU_SECTION
            if section not in sections:
                sections.append(section)
            for sub in block.subs:
                links = extract_links(prose(sub.body), base_url=base)
                features.append(_feature(sub.head, section, sub.body, links, Product.WEBGPU))
            continue
        lines = list(block.intro)
        for sub in block.subs:
            lines += [sub.head, *sub.body]
        links = extract_links(prose(lines), base_url=base)
        features.append(_feature(block.head, WEBGPU_SECTION, lines, links, Product.WEBGPU))
    return features, sections


def _feature(
    head: Line,
    section: str,
    body: list[Line],
    links: tuple[Link, ...],
    product: Product = Product.CHROME,
) -> Feature:
    return Feature(
        title=feature_title(head.heading),
        section=section,
        body=body_text(body),
        links=links,
        product=product,
        line=head.number,
    )


def feature_title(heading: str) -> str:
    """A heading as a feature title: list numbering and ``{#id}`` removed, spaces collapsed."""
    text = _SPACES.sub(" ", _HEADING_ID.sub("", heading)).strip()
    unnumbered = _NUMBERING.sub("", text)
    return unnumbered or text


def _is_boilerplate(title: str) -> bool:
    lowered = _SPACES.sub(" ", title).strip().casefold()
    return lowered in _BOILERPLATE or lowered.startswith(_BOILERPLATE_PREFIX)


def _has_feature_evidence(links: Iterable[Link]) -> bool:
    return any(
        link.type is LinkType.TRACKING_BUG
        or (link.type is LinkType.CHROMESTATUS and "/feature/" in link.url)
        for link in links
    )


# -- WebGPU merge -----------------------------------------------------------------------


def normalised_title(title: str) -> str:
    """Comparison key for titles: case, punctuation, numbering and a ``WebGPU:`` prefix ignored."""
    text = unicodedata.normalize("NFKC", title).casefold()
    text = _NUMBERING.sub("", text.strip())
    text = re.sub(r"^webgpu\s*:\s*", "", text)
    return " ".join(re.findall(r"[^\W_]+", text))


def merge_webgpu(features: Sequence[Feature], webgpu: Release | None) -> tuple[Feature, ...]:
    """``features`` (Chrome's own graphics/WebGPU features, all kept) followed by the WebGPU
    note's features whose normalised title is not already present."""
    merged = list(features)
    seen = {normalised_title(feature.title) for feature in features}
    for feature in webgpu.features if webgpu is not None else ():
        key = normalised_title(feature.title)
        if key not in seen:
            seen.add(key)
            merged.append(feature)
    return tuple(merged)
