"""Links in release-note markdown: extraction, resolution to absolute URLs, and typing (pure).

Only inline markdown links (``[text](url)``) and autolinks (``<https://…>``) count; images and
links inside code are ignored by the caller, which passes prose lines only. Relative links are
resolved against the page address (``https://developer.chrome.com`` when unknown). Anything that
is not ``http(s)`` after resolution (``javascript:``, ``data:``, ``mailto:``) is dropped, so no
such URL can reach a rendered page.
"""

import re
from collections.abc import Iterable
from urllib.parse import urljoin

from webplatform_digest.models import Link, LinkType

DEFAULT_BASE_URL = "https://developer.chrome.com/"

# Link text may hold one level of nested brackets; a URL may hold one level of parentheses.
# Each alternation is between disjoint character classes, so matching stays linear.
_INLINE_LINK = re.compile(
    r"(?<!!)\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]"
    r"\(\s*<?([^()\s<>]*(?:\([^()\s]*\)[^()\s<>]*)*)>?(?:\s+\"[^\"\n]*\")?\s*\)"
)
_AUTOLINK = re.compile(r"<(https?://[^\s<>]+)>")
_ABSOLUTE = re.compile(r"^https?://", re.IGNORECASE)
_HTTP_HOST = re.compile(r"^https?://(?:[^@/?#\s]*@)?(\[[^\]/?#]*\]?|[^:/?#\s\[\]]+)", re.IGNORECASE)
_TITLE_NOISE = re.compile(r"[`*]+")
_SPACES = re.compile(r"\s+")

_TRACKING_HOSTS = (
    "issues.chromium.org",
    "g-issues.chromium.org",
    "crbug.com",
    "bugs.chromium.org",
    "issuetracker.google.com",
    "bugs.webkit.org",
    "bugzilla.mozilla.org",
)
_SPEC_HOSTS = (
    "w3.org",
    "whatwg.org",
    "drafts.csswg.org",
    "drafts.fxtf.org",
    "drafts.css-houdini.org",
    "tc39.es",
    "svgwg.org",
    "registry.khronos.org",
    "datatracker.ietf.org",
    "rfc-editor.org",
    "ietf.org",
    "httpwg.org",
    "whatpr.org",
    "webassembly.github.io",
)
# *.github.io organisations that publish specifications and spec drafts
_SPEC_GITHUB_ORGS = frozenset(
    {
        "w3c",
        "wicg",
        "whatwg",
        "tc39",
        "gpuweb",
        "immersive-web",
        "privacycg",
        "patcg",
        "patcg-individual-drafts",
        "webaudio",
        "w3c-fedid",
        "fedidcg",
        "screen-share",
        "webassembly",
        "webmachinelearning",
        "webscreens",
        "webbluetoothcg",
        "w3ctag",
        "httpwg",
        "webgpu-native",
        "w3c-ccg",
        "antiphishing",
    }
)
_SPEC_TITLE = re.compile(r"\bspec(?:ification)?s?\b", re.IGNORECASE)


def extract_links(lines: Iterable[str], *, base_url: str | None = None) -> tuple[Link, ...]:
    """Typed, absolute, de-duplicated links found in prose ``lines`` (first title wins)."""
    base = base_url or DEFAULT_BASE_URL
    seen: set[str] = set()
    links: list[Link] = []
    for line in lines:
        if "](" not in line and "<http" not in line:
            continue  # cheap pre-check: most lines hold no link
        for title, raw in _candidates(line):
            url = resolve_url(raw, base)
            if url is None or url in seen:
                continue
            seen.add(url)
            links.append(Link(url=url, type=link_type(url, title), title=clean_title(title, url)))
    return tuple(links)


def _candidates(line: str) -> list[tuple[str, str]]:
    found = [(m.start(), m.group(1), m.group(2)) for m in _INLINE_LINK.finditer(line)]
    found += [(m.start(), m.group(1), m.group(1)) for m in _AUTOLINK.finditer(line)]
    found.sort(key=lambda item: item[0])
    return [(title, url) for _, title, url in found]


def resolve_url(raw: str, base: str = DEFAULT_BASE_URL) -> str | None:
    """Absolute ``http(s)`` URL for a link target, or None for empty/other-scheme targets."""
    target = raw.strip()
    if not target or len(target) > 2048:
        return None
    if not _ABSOLUTE.match(target):  # urljoin is the slow part: only for relative targets
        try:
            target = urljoin(base, target)
        except ValueError:  # malformed IPv6 literal and similar
            return None
    return target if _host(target) else None


def _host(url: str) -> str:
    """Lower-cased host of an ``http(s)`` URL; empty for anything else or a malformed host."""
    match = _HTTP_HOST.match(url)
    if match is None:
        return ""
    host = match.group(1).lower()
    if host.startswith("[") and not host.endswith("]"):
        return ""
    return host


def clean_title(title: str, url: str) -> str:
    """Link text without backticks, asterisks and extra spaces (the URL if empty)."""
    text = _SPACES.sub(" ", _TITLE_NOISE.sub("", title)).strip()
    return text or url


def link_type(url: str, title: str = "") -> LinkType:
    """Classify a link by its host (and, for GitHub Pages sites, by its link text)."""
    host = _host(url)
    if _host_in(host, _TRACKING_HOSTS):
        return LinkType.TRACKING_BUG
    if _host_in(host, ("chromestatus.com",)):
        return LinkType.CHROMESTATUS
    if _host_in(host, ("developer.mozilla.org",)):
        return LinkType.MDN
    if host in ("github.com", "www.github.com", "gist.github.com"):
        return LinkType.GITHUB
    if _is_spec_host(host, title):
        return LinkType.SPEC
    return LinkType.OTHER


def _is_spec_host(host: str, title: str) -> bool:
    if _host_in(host, _SPEC_HOSTS):
        return True
    if host.endswith(".github.io"):
        org = host.removesuffix(".github.io")
        return org in _SPEC_GITHUB_ORGS or bool(_SPEC_TITLE.search(title))
    return False


def _host_in(host: str, domains: Iterable[str]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)
