"""Who a release note is about and when (pure): product, version, channel, title, date.

Explicit values win; otherwise the page's H1 headings, then its ``Source:`` URL, then the file
name (``chrome-144-beta.md``, ``webgpu-144.md``, ``chrome-145.sample.md``) decide.
"""

import re
from dataclasses import dataclass
from datetime import date

from webplatform_digest.errors import ParseError
from webplatform_digest.models import MAX_VERSION, MIN_VERSION, Channel, Product
from webplatform_digest.releases.blocks import Line

_SPACES = re.compile(r"\s+")
_PAGE_CHROME = re.compile(r"\s*Stay organized with collections.*$", re.IGNORECASE)
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
class ReleaseIdentity:
    """Product, version and channel of one release note."""

    product: Product
    version: int
    channel: Channel


def detect_identity(
    h1s: list[str],
    source_url: str | None,
    source: str,
    product: Product | None,
    version: int | None,
    channel: Channel | None,
) -> ReleaseIdentity:
    """Product, version and channel: explicit values, then H1s, Source URL and file name.

    Raises:
        ParseError: no version can be found (line 1 of ``source``).
    """
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
    return ReleaseIdentity(product, found, channel or _detect_channel(h1s, source_url, file_hint))


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


def find_source_url(preamble: list[Line]) -> str | None:
    """The URL of a ``Source: https://…`` line, if any."""
    for line in preamble:
        if not line.code and (m := _SOURCE.match(line.text)):
            return m.group(1)
    return None


def release_title(h1s: list[str], identity: ReleaseIdentity) -> str:
    """The first H1 without the page-chrome text, or a title made from the identity."""
    for h1 in h1s:
        cleaned = _SPACES.sub(" ", _PAGE_CHROME.sub("", h1)).strip()
        if cleaned:
            return cleaned
    if identity.product is Product.WEBGPU:
        return f"What's New in WebGPU (Chrome {identity.version})"
    return f"Chrome {identity.version} ({identity.channel.value})"


def find_release_date(lines: list[str]) -> str | None:
    """ISO date from the first release-date, "stable as of" or "Published" line."""
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
