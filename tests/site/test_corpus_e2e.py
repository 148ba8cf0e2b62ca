"""The corpus (Chrome 141–144 with their WebGPU notes) through offline digests and real Jekyll:
code arrives verbatim in both languages, and no page shows an escaped entity."""

import html.parser
import re
from pathlib import Path

import anyio
import pytest

from tests.conftest import CORPUS_DIR, require_executable
from tests.site.corpus_site import NAMES, find_corpus, note_code_lines, write_corpus_digests
from webplatform_digest.releases.blocks import scan_lines
from webplatform_digest.services.pages import generate_pages
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import DirectWriter

pytestmark = [pytest.mark.e2e, pytest.mark.corpus]
VERSIONS = range(141, 145)
#: an entity whose ampersand was escaped again: shows as "&#123;" / "&lt;" on the page
DOUBLE_ESCAPED = re.compile(r"&amp;(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);")
FENCE = re.compile(r"^(`{3,}|~{3,})(\S*)")


class _PreText(html.parser.HTMLParser):
    """The text of every ``<pre>`` element of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            self._depth += 1
            self.blocks.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._depth:
            self.blocks[-1] += data


def _pre_lines(page: Path) -> set[str]:
    parser = _PreText()
    parser.feed(page.read_text(encoding="utf-8"))
    return {line for block in parser.blocks for line in block.split("\n")}


@pytest.fixture(scope="module")
def corpus() -> Path:
    """The real corpus; skips where absent."""
    found = find_corpus()
    if found is None:
        pytest.skip(f"real release-note corpus not found at {CORPUS_DIR}")
    return found


@pytest.fixture(scope="module")
def built(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(workspace root, Jekyll output) for the corpus releases 141–144."""
    jekyll = require_executable("jekyll")
    root = tmp_path_factory.mktemp("corpus-site")
    workspace = Workspace.at(root)
    write_corpus_digests(workspace, corpus, VERSIONS)

    async def build() -> None:
        await generate_pages(workspace, NAMES, DirectWriter(workspace))
        command = [jekyll, "build", "--safe", "--disable-disk-cache"]
        command += ["--source", str(root / Workspace.DIGESTS), "--destination", str(root / "_site")]
        await anyio.run_process(command, cwd=root)

    anyio.run(build)
    assert (root / "_site" / "index.html").is_file()
    return root, root / "_site"


@pytest.mark.parametrize("version", VERSIONS)
def test_every_code_line_of_the_notes_reaches_the_built_site_verbatim_in_both_languages(
    built: tuple[Path, Path], corpus: Path, version: int
) -> None:
    _, site = built
    expected = note_code_lines(corpus / f"chrome-{version}.md")
    if (corpus / f"webgpu-{version}.md").is_file():
        expected += note_code_lines(corpus / f"webgpu-{version}.md")
    for folder in (
        site / "versions" / f"chrome-{version}",
        site / "zh/versions" / f"chrome-{version}",
    ):
        shown = set().union(*(_pre_lines(page) for page in folder.glob("*.html")))
        missing = [line for line in expected if line not in shown]
        assert missing == [], folder


def test_the_corpus_has_code_to_check(corpus: Path) -> None:
    """The check above is not vacuous: the WebGPU notes of 141–144 carry code."""
    lines = [line for v in VERSIONS for line in note_code_lines(corpus / f"webgpu-{v}.md")]
    assert len(lines) >= 40
    assert any("{" in line for line in lines)


def test_no_built_page_shows_an_escaped_entity(built: tuple[Path, Path]) -> None:
    _, site = built
    pages = list(site.rglob("*.html"))
    assert len(pages) > 50
    shown = [p.relative_to(site) for p in pages if DOUBLE_ESCAPED.search(p.read_text("utf-8"))]
    assert shown == []


def _unfenced_code_and_languages(markdown: str) -> tuple[list[str], list[str]]:
    """Code lines outside any fence (indented code), and the info strings of the fences."""
    unfenced: list[str] = []
    languages: list[str] = []
    fenced = False
    for line in scan_lines(markdown.split("\n")):
        if not line.code:
            continue
        opened = FENCE.match(line.text.strip())
        if opened:
            if not fenced:
                languages.append(opened[2])
            fenced = not fenced
        elif not fenced and line.text.strip():
            unfenced.append(line.text)
    return unfenced, languages


def test_every_code_block_of_a_digest_is_fenced_with_its_language(
    built: tuple[Path, Path],
) -> None:
    root, _ = built
    languages: list[str] = []
    for path in sorted((root / Workspace.DIGESTS / "areas").glob("*/chrome-*.md")):
        unfenced, found = _unfenced_code_and_languages(path.read_text(encoding="utf-8"))
        assert unfenced == [], path
        languages += found
    assert languages.count("js") >= 8
    assert "" not in languages


def test_the_html_of_a_code_block_says_its_language(built: tuple[Path, Path]) -> None:
    _, site = built
    page = (site / "versions/chrome-144/graphics-webgpu.html").read_text("utf-8")
    assert '<pre><code class="language-js">' in page
