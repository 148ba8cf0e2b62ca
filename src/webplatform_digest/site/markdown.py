"""LLM markdown made safe for Jekyll (pure): Liquid never runs on it, kramdown never sees its HTML.

Digest bodies are untrusted model output. Jekyll runs Liquid over a page and then kramdown,
which passes inline HTML through and honours attribute lists (``{: onclick=…}``), math and
extensions. The body is therefore re-emitted so that:

* no ``{`` or ``}`` of the text survives (HTML entities instead): no ``{{ }}``/``{% %}``, no
  attribute lists, no ``{::nomarkdown}``;
* no ``<`` or ``>`` of the text survives (``&lt;``/``&gt;``): no tags, comments or raw blocks;
* code spans and fenced blocks become our own ``<code>``/``<pre>`` elements whose content is
  escaped as entities (shown exactly, parsed by neither Liquid nor kramdown); indented code
  blocks are fenced first (``releases.code.fence_code``), because inside kramdown's own code
  block the entities below would show literally;
* links are rebuilt only for ``http``, ``https`` and ``mailto`` targets; other targets lose the
  link and keep the text; images become links to the image; reference links are inlined;
* every other ``[``, ``]``, backtick, backslash and ``$`` (math) is escaped.

Headings, emphasis, lists, tables and block quotes keep their markdown.
"""

import html
import re
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import quote

from webplatform_digest.releases.code import fence_code

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_REFERENCE = re.compile(
    r"^[ ]{0,3}\[(?P<label>[^\[\]\n]{1,200})\]:[ \t]*<?(?P<url>[^\s<>]{1,2000})>?(?:[ \t].*)?$"
)
_QUOTE_PREFIX = re.compile(r"^[ \t]*(?:>[ \t]?)+")
_AUTOLINK = re.compile(r"<(?P<url>(?:https?://|mailto:)[^\s<>]{1,2000})>", re.IGNORECASE)
_LINK = re.compile(
    r"(?P<bang>!?)\[(?P<text>(?:[^\[\]\\\n]|\\.){0,500})\]"
    r"(?:\((?P<dest><[^<>\n]{0,2000}>|[^\s()<>]{0,2000}(?:\([^\s()<>]{0,200}\)[^\s()<>]{0,200}){0,4})"
    r"(?:[ \t]+(?:\"[^\"\n]{0,300}\"|'[^'\n]{0,300}'|\([^()\n]{0,300}\)))?[ \t]*\)"
    r"|\[(?P<ref>[^\[\]\n]{0,200})\])?"
)
_BACKTICKS = re.compile(r"`+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufeff]")
#: whitespace (``str.isspace``'s set) and control characters: never inside a URL we emit
_URL_BREAKER = re.compile(r"[\s\x00-\x1f\x7f]")
_SAFE_SCHEME = re.compile(r"^(?:https?://[^/?#\s]+|mailto:[^\s]+)", re.IGNORECASE)
#: an indented code line, matched from the newline before it (searched in ``"\n" + text``, so
#: the engine jumps to line starts; see ``_H2_LINE_AFTER_NEWLINE``)
_INDENTED_AFTER_NEWLINE = re.compile(r"\n(?: {4}|\t)[ \t]*\S")
_INFO = re.compile(r"^[A-Za-z0-9_+-]{1,20}$")

#: what each character of prose becomes; applied as ``str.replace`` calls, the backslash
#: first (later replacements add backslashes of their own), because ``str.translate`` with
#: multi-character replacements is several times slower on long or non-ASCII lines
TEXT_ESCAPES = (
    ("\\", "\\\\"),
    ("`", "\\`"),
    ("[", "\\["),
    ("]", "\\]"),
    ("$", "\\$"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ("{", "&#123;"),
    ("}", "&#125;"),
)
#: every printable ASCII character but letters, digits and space, plus tab and newline
_CODE_ENTITIES = str.maketrans(
    {ch: f"&#{ord(ch)};" for ch in map(chr, range(128)) if not (ch.isalnum() or ch == " ")}
)
#: where ``_inline`` has to look closer: code spans, links, images, autolinks
_INLINE_START = re.compile(r"[`\[!<]")
#: characters kramdown lets a backslash escape; labels escape all of them
_LABEL_BACKSLASH = set("\\`*_[]()#+-.!|:$\"'=")
_LABEL_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;", "{": "&#123;", "}": "&#125;"}


@lru_cache(maxsize=8192)
def safe_url(raw: str) -> str | None:
    """``raw`` as an absolute http(s)/mailto URL safe to link to, else None (dropped)."""
    url = raw.strip()
    if not url or len(url) > 2000 or _URL_BREAKER.search(url):
        return None
    if not _SAFE_SCHEME.match(url):
        return None
    return quote(url, safe=":/?#@!$&+,;=%~-._*")


#: one translation table for labels: entities first, then backslash escapes
_LABEL_TABLE = str.maketrans({**{ch: "\\" + ch for ch in _LABEL_BACKSLASH}, **_LABEL_ENTITIES})


@lru_cache(maxsize=16384)
def escape_label(text: str) -> str:
    """Escape text we put into markdown ourselves (titles, area names): shown literally."""
    # the same labels recur on hundreds of pages (area names, feature titles): cached
    return " ".join(_CONTROL.sub(" ", text).split()).translate(_LABEL_TABLE)


def escape_text(text: str) -> str:
    """Prose shown literally: each character of ``TEXT_ESCAPES`` escaped, nothing else."""
    for char, escaped in TEXT_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    return text


def _entities(text: str) -> str:
    """Every ASCII character except letters, digits and space as a numeric entity."""
    return text.translate(_CODE_ENTITIES)


def _code_span(code: str) -> str:
    if code.startswith(" ") and code.endswith(" ") and code.strip():
        code = code[1:-1]
    return f"<code>{_entities(code)}</code>"


def _code_block(indent: str, info: str, lines: list[str]) -> str:
    words = info.strip().split()
    language = words[0] if words and _INFO.fullmatch(words[0]) else ""
    attribute = f' class="language-{language}"' if language else ""
    return f"{indent}<pre><code{attribute}>{_entities(chr(10).join(lines))}</code></pre>"


def _normal_label(label: str) -> str:
    return " ".join(label.lower().split())


def _link(text: str, url: str | None, references: Mapping[str, str]) -> str:
    label = _inline(text, references, links=False) or (escape_text(url) if url else "")
    if url is None:
        return label
    return f"[{label}]({url})"


def _match_link(line: str, start: int, references: Mapping[str, str]) -> tuple[str, int] | None:
    match = _LINK.match(line, start)
    if match is None:
        return None
    text = match["text"]
    if match["dest"] is not None:
        dest = match["dest"].removeprefix("<").removesuffix(">")
        return _link(text, safe_url(dest), references), match.end()
    label = _normal_label(match["ref"] or text)
    if label not in references:
        return None
    return _link(text, references[label], references), match.end()


def _closing_run(line: str, opening: re.Match[str]) -> re.Match[str] | None:
    for run in _BACKTICKS.finditer(line, opening.end()):
        if len(run[0]) == len(opening[0]):
            return run
    return None


def _inline(line: str, references: Mapping[str, str], *, links: bool = True) -> str:
    """One line of text: code spans, (safe) links and autolinks rebuilt, everything else escaped."""
    out: list[str] = []
    plain = 0
    candidate = _INLINE_START.search(line)
    while candidate is not None:
        index = candidate.start()
        piece, end = _construct(line, index, references, links)
        if piece is not None:
            out += [escape_text(line[plain:index]), piece]
            plain = end
        candidate = _INLINE_START.search(line, end)
    out.append(escape_text(line[plain:]))
    return "".join(out)


def _construct(
    line: str, index: int, references: Mapping[str, str], links: bool
) -> tuple[str | None, int]:
    """The rebuilt construct starting at ``index`` and where it ends, or (None, next index)."""
    char = line[index]
    if char == "`":
        opening = _BACKTICKS.match(line, index)
        assert opening is not None
        closing = _closing_run(line, opening)
        if closing is None:
            return None, opening.end()
        return _code_span(line[opening.end() : closing.start()]), closing.end()
    if links and char == "<" and (auto := _AUTOLINK.match(line, index)):
        return _link("", safe_url(auto["url"]), references), auto.end()
    if links and char in "[!" and (found := _match_link(line, index, references)):
        return found
    return None, index + 1


def _text_line(line: str, references: Mapping[str, str]) -> str:
    if not references:
        return _plain_line(line)
    return _rebuilt_line(line, references)


@lru_cache(maxsize=16384)  # digests repeat lines: a Chinese fallback quotes its English
def _plain_line(line: str) -> str:
    return _rebuilt_line(line, {})


def _rebuilt_line(line: str, references: Mapping[str, str]) -> str:
    head = ""
    if line.lstrip(" \t").startswith(">") and (prefix := _QUOTE_PREFIX.match(line)):
        head = prefix[0]
    return head + _inline(line[len(head) :], references)


def _references(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """Collect reference definitions outside code (safe targets only) and drop their lines."""
    references: dict[str, str] = {}
    kept: list[str] = []
    fence: str | None = None
    for line in lines:
        if fence is not None:
            fence = None if _closes(line, fence) else fence
        elif opened := _FENCE.match(line):
            fence = opened["fence"]
        elif definition := _REFERENCE.match(line):
            url = safe_url(definition["url"])
            if url is not None:
                references.setdefault(_normal_label(definition["label"]), url)
            continue
        kept.append(line)
    return references, kept


@lru_cache(maxsize=2048)  # a long-lived server re-renders mostly unchanged digests
def neutralise_markdown(markdown: str) -> str:
    """Untrusted markdown re-emitted so Liquid and kramdown render it as inert content."""
    text = _CONTROL.sub("", markdown.replace("\r\n", "\n").replace("\r", "\n"))
    # indented code would show our escapes literally: fence it
    if _INDENTED_AFTER_NEWLINE.search("\n" + text):
        text = fence_code(text)
    lines = text.split("\n")
    references: dict[str, str] = {}
    if "]:" in text:
        references, lines = _references(lines)
    if "```" not in text and "~~~" not in text:
        out = [_text_line(line, references) for line in lines]
    else:
        out = _with_code_blocks(lines, references)
    return "\n".join(out).strip("\n") + "\n"


def _with_code_blocks(lines: list[str], references: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(lines):
        opened = _FENCE.match(lines[index])
        if opened is None:
            out.append(_text_line(lines[index], references))
            index += 1
            continue
        fence = opened["fence"]
        body: list[str] = []
        index += 1
        while index < len(lines) and not _closes(lines[index], fence):
            body.append(lines[index])
            index += 1
        index += 1  # the closing fence (or the end of the text)
        while body and not body[-1].strip():
            body.pop()
        out += ["", _code_block(opened["indent"], opened["info"], body), ""]
    return out


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


#: a level-2 ATX heading line, matched from the newline before it (searched in ``"\n" + text``):
#: a literal first character lets the regex engine skip to line starts instead of trying a
#: ``^`` at every position of the text; ``_heading_text`` takes the closing hashes off
_H2_LINE_AFTER_NEWLINE = re.compile(r"\n {0,3}##[ \t]+([^\n]*)")
_CLOSING_HASHES = re.compile(r"[ \t]+#+$")
_LABEL_LINK = re.compile(r"\[((?:[^\[\]\\]|\\.)*)\]\([^()\s]*\)")
_LABEL_TAG = re.compile(r"</?code(?: class=\"[^\"]*\")?>")
_LABEL_ESCAPE = re.compile(r"\\(.)")


def feature_anchor(index: int) -> str:
    """The id of the ``index``-th (from 1) feature heading of a digest page, in any language."""
    return f"feature-{index}"


def _heading_text(rest: str) -> str:
    """A heading's text from the rest of its line: without trailing blanks and without a
    closing sequence of hashes (``## Title ##``), which needs a blank before it."""
    text = rest.rstrip(" \t")
    closing = _CLOSING_HASHES.search(text)
    return text[: closing.start()] if closing else text


def _plain_label(neutralised: str) -> str:
    """A neutralised heading back as the plain text it shows (links, code tags, escapes gone)."""
    text = _LABEL_LINK.sub(r"\1", neutralised)
    text = _LABEL_ESCAPE.sub(r"\1", _LABEL_TAG.sub("", text))
    return " ".join(html.unescape(text).replace("*", "").split())


@lru_cache(maxsize=2048)
def feature_headings(markdown: str) -> tuple[str, ...]:
    """The feature titles of a digest: its level-2 headings outside code, as plain text. Read
    from the neutralised text, where code is one line, so they are the headings the page has."""
    headings = _H2_LINE_AFTER_NEWLINE.findall("\n" + neutralise_markdown(markdown))
    return tuple(_plain_label(_heading_text(rest)) for rest in headings)


def with_feature_anchors(neutralised: str) -> str:
    """Neutralised markdown with ``{#feature-N}`` on its level-2 headings, so the release page
    and the table of contents can link to each feature (ids are ours, never the model's).
    Neutralised code is one ``<pre>`` line, so every heading line here is a heading."""
    count = 0

    def anchored(heading: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return f"\n## {_heading_text(heading[1])} {{#{feature_anchor(count)}}}"

    return _H2_LINE_AFTER_NEWLINE.sub(anchored, "\n" + neutralised)[1:]
