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

from webplatform_digest.errors import ParseError
from webplatform_digest.models import (
    Channel,
    Feature,
    Link,
    LinkType,
    Product,
    Release,
    parse_version,
)
from webplatform_digest.releases.blocks import (
    Block,
    Line,
    body_text,
    is_blank,
    prose,
    scan_page,
)
from webplatform_digest.releases.links import DEFAULT_BASE_URL, extract_links
from webplatform_digest.releases.metadata import (
    detect_identity,
    find_release_date,
    find_source_url,
    release_title,
)

MAX_TEXT_CHARS = 16 * 1024 * 1024
WEBGPU_SECTION = "WebGPU"
#: section name given to H3 features that appear before any H2
ORPHAN_SECTION = "(untitled section)"

_BOILERPLATE = ("further reading", "download google chrome", "download chrome")
_BOILERPLATE_PREFIX = ("what's new in webgpu", "what’s new in webgpu")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NUMBERING = re.compile(r"^\d{1,3}[.)][ \t]+")
_HEADING_ID = re.compile(r"[ \t]*\{#[^}]*\}$")
_SPACES = re.compile(r"\s+")


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
    source_url = find_source_url(page.preamble)
    identity = detect_identity(h1s, source_url, source, product, version, channel)
    base = source_url or DEFAULT_BASE_URL
    if identity.product is Product.WEBGPU:
        features, sections = _webgpu_features(page.blocks, base)
    else:
        features, sections = _chrome_features(page.blocks, base)
    return Release(
        product=identity.product,
        version=identity.version,
        channel=identity.channel,
        title=release_title(h1s, identity),
        release_date=find_release_date(prose(page.preamble)),
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
