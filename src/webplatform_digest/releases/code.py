"""Code blocks of release-note markdown (pure): indented code fenced, with its language guessed.

The notes carry code as indented blocks (four spaces after a blank line). Indented code does
not survive the way to the site: a model re-indents it, a list swallows it, and kramdown shows
the escapes the site needs for Liquid literally inside it. A fenced block says where code
starts and ends, so every stage after parsing keeps it verbatim; its info string names the
language where the text shows it (``wgsl``, ``js``, ``css``, ``html``, ``http``).

``code_segments`` splits markdown into prose and fenced code so that text rewrites (headings
made bold, link rows dropped, shortening) never touch a code line.
"""

import re
from collections.abc import Iterator

_FENCE_OPEN = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}(?=[^`]*$)|~{3,})(?P<info>.*)$")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|[0-9]{1,9}[.)])(?:[ \t]|$)")
_BACKTICK_RUN = re.compile(r"`+")

_HTTP = (
    r"\A(?:(?:GET|POST|PUT|DELETE|HEAD|PATCH|OPTIONS) \S+|HTTP/[0-9.]+ [0-9]{3}"
    r"|[A-Za-z][A-Za-z0-9-]*: [^\n;{}]*(?:\n[A-Za-z][A-Za-z0-9-]*: [^\n;{}]*)*\Z)"
)
_JS = (
    r"(?m)^\s*(?:const|let|var|await|async|function|import|export|class)\b"
    r"|\bnavigator\.|\bdocument\.|\bwindow\.|=>|\bconsole\."
)
_WGSL = (
    r"(?m)^\s*(?:enable|requires|diagnostic) [a-z_0-9, ]+;"
    r"|^\s*@(?:compute|fragment|vertex|group|binding|workgroup_size)\b|^\s*fn [a-z_]\w*\("
)
_CSS = r"(?m)^\s*(?:@[a-z-]+[^;{]*\{|[^\s{};][^{};]*\{\s*$)(?:.|\n)*^\s*[a-z-]+\s*:\s*[^;]+;"
#: checked in order: JavaScript that carries WGSL in a template string is JavaScript
_LANGUAGES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("http", re.compile(_HTTP)),
    ("html", re.compile(r"\A<(?:!doctype|[a-z][a-z0-9-]*)(?:[\s>/])", re.IGNORECASE)),
    ("js", re.compile(_JS)),
    ("wgsl", re.compile(_WGSL)),
    ("css", re.compile(_CSS)),
)


def guess_language(code: str) -> str:
    """The language a code block is written in (``wgsl``, ``js``, ``css``, ``html``, ``http``),
    or ``""`` when the text does not show it. JavaScript that carries WGSL in a template string
    is ``js``: the outer language is what a reader copies."""
    text = code.strip()
    for language, pattern in _LANGUAGES:
        if pattern.search(text):
            return language
    return ""


def _indent(line: str) -> int:
    width = 0
    for char in line:
        if char == " ":
            width += 1
        elif char == "\t":
            width += 4 - width % 4
        else:
            break
    return width


def _dedent(line: str) -> str:
    """``line`` without four columns of indentation (a tab counts as up to four)."""
    removed = 0
    for index, char in enumerate(line):
        if removed >= 4 or char not in " \t":
            return line[index:]
        removed += 1 if char == " " else 4 - removed % 4
    return ""


def _fence_for(lines: list[str]) -> str:
    longest = max((len(run) for line in lines for run in _BACKTICK_RUN.findall(line)), default=0)
    return "`" * max(3, longest + 1)


def fenced_block(lines: list[str], language: str | None = None) -> list[str]:
    """``lines`` of code as a fenced block (blank lines around it trimmed), language guessed
    unless given."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if not lines:
        return []
    fence = _fence_for(lines)
    info = guess_language("\n".join(lines)) if language is None else language
    return [fence + info, *lines, fence]


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]} and _indent(line) < 4


def fence_code(markdown: str) -> str:
    """``markdown`` with every indented code block fenced (language guessed), and fenced blocks
    without an info string given one where the code shows it. Text outside code is unchanged;
    an indented line continuing a list item stays text, as it is for CommonMark."""
    out: list[str] = []
    lines = markdown.split("\n")
    index, blank, in_list = 0, True, False
    while index < len(lines):
        line = lines[index]
        if opened := _FENCE_OPEN.match(line):
            end = index + 1
            while end < len(lines) and not _closes(lines[end], opened["fence"]):
                end += 1
            body = lines[index + 1 : end]
            info = opened["info"].strip() or guess_language("\n".join(body))
            out += [f"{opened['indent']}{opened['fence']}{info}", *body]
            out += lines[end : end + 1] or [opened["indent"] + opened["fence"]]
            index, blank, in_list = end + 1, False, False
            continue
        if blank and not in_list and line.strip() and _indent(line) >= 4:
            end = index
            while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) >= 4):
                end += 1
            out += fenced_block([_dedent(code) for code in lines[index:end]])
            if end < len(lines):
                out.append("")
            index, blank = end, True
            continue
        if line.strip():
            in_list = bool(_LIST_ITEM.match(line)) or (in_list and (_indent(line) > 0 or not blank))
        blank = not line.strip()
        out.append(line)
        index += 1
    return "\n".join(out)


def code_segments(markdown: str) -> Iterator[tuple[bool, str]]:
    """``(is_code, text)`` runs of ``markdown`` in order: fenced blocks (with their fences) and
    the prose between them. Joining the texts with newlines gives ``markdown`` back."""
    lines = markdown.split("\n")
    prose: list[str] = []
    index = 0
    while index < len(lines):
        opened = _FENCE_OPEN.match(lines[index])
        if opened is None:
            prose.append(lines[index])
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not _closes(lines[end], opened["fence"]):
            end += 1
        if prose:
            yield False, "\n".join(prose)
            prose = []
        yield True, "\n".join(lines[index : end + 1])
        index = end + 1
    if prose:
        yield False, "\n".join(prose)
