"""The standalone HTML preview: safe digest rendering, autoescaped pages, working in a browser."""

import contextlib
import functools
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Generator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import pytest

from tests.conftest import require_executable
from tests.site_samples import (
    HOSTILE,
    NAMES,
    broken_internal_links,
    link_targets,
    write_sample_digests,
)
from webplatform_digest.models import Language
from webplatform_digest.services.pages import generate_pages
from webplatform_digest.site.html import render_digest_html, render_html_page
from webplatform_digest.site.model import PageKind, PageRef
from webplatform_digest.site.pages import PageContent
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import DirectWriter

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
REL = 'rel="nofollow noopener noreferrer"'


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
        ("[x](javascript:alert(1))", "<p>x</p>\n"),
        ("[x](data:text/html,hi)", "<p>x</p>\n"),
        ("[x](relative/page.md)", "<p>x</p>\n"),
        ("<javascript:alert(1)>", "<p>javascript:alert(1)</p>\n"),
        (
            "[spec](https://example.com/s)",
            f'<p><a href="https://example.com/s" {REL}>spec</a></p>\n',
        ),
        (
            "![chart](https://example.com/c.png)",
            f'<p><a href="https://example.com/c.png" {REL}>chart</a></p>\n',
        ),
        ("![chart](javascript:x)", "<p>chart</p>\n"),
        ("`<b>`", "<p><code>&lt;b&gt;</code></p>\n"),
    ],
)
def test_digest_markdown_renders_without_html_or_script_links(source: str, expected: str) -> None:
    """Raw HTML is text; only http(s)/mailto links survive; images become links."""
    assert render_digest_html(source) == expected


def test_the_whole_hostile_sample_has_no_script_and_no_script_link() -> None:
    """Every trick in the hostile sample comes out as inert text."""
    rendered = render_digest_html(HOSTILE)
    assert "<script" not in rendered
    assert "<img" not in rendered
    assert not [t for t in link_targets(rendered) if not t.startswith("https://")]


def test_page_text_is_autoescaped_and_scripts_are_forbidden_by_policy() -> None:
    """A title with markup is shown as text; the page allows no script; zh pages say so."""
    page = PageRef(PageKind.HOME, Language.ZH)
    html = render_html_page(PageContent(page, '<script>alert("t")</script>', (), None)).decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt;" in html
    assert "default-src 'none'" in html
    assert '<html lang="zh-CN">' in html


async def test_every_preview_link_points_at_a_file_of_the_preview(workspace: Workspace) -> None:
    """Relative links with explicit index.html resolve inside site/ (works from file://)."""
    write_sample_digests(workspace)
    await generate_pages(workspace, NAMES, DirectWriter(workspace), html=True)
    preview = workspace.root / "site"
    assert broken_internal_links(preview) == []
    home = (preview / "index.html").read_text(encoding="utf-8")
    assert 'href="versions/chrome-144/index.html"' in home
    assert 'href="zh/index.html"' in home


async def test_a_preview_in_four_languages_lists_every_other_language(
    workspace: Workspace,
) -> None:
    """Each page of a four-language preview links the other three, with hreflang, inside site/."""
    languages = (Language.EN, Language.ZH, Language("ko"), Language("pt-BR"))
    write_sample_digests(workspace, languages=languages)
    await generate_pages(workspace, NAMES, DirectWriter(workspace), html=True)
    preview = workspace.root / "site"
    assert broken_internal_links(preview) == []
    korean = (preview / "ko/index.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in korean
    assert korean.count('class="switch"') == 3
    assert '<link rel="alternate" hreflang="pt-BR" href="../pt-BR/index.html">' in korean
    assert "Português (Brasil)" in korean


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""


@contextlib.contextmanager
def _serve(directory: Path) -> Generator[str]:
    """A loopback HTTP server for ``directory``; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _chromium(chromium: str, url: str, *extra: str) -> subprocess.CompletedProcess[bytes]:
    """Headless Chromium with a fresh profile that is removed afterwards."""
    profile = tempfile.mkdtemp(prefix="wpd-chromium-")
    try:
        command = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--window-size=1200,800", *extra, url,
        ]  # fmt: skip
        return subprocess.run(command, capture_output=True, timeout=120, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.e2e
def test_headless_chromium_opens_the_preview_from_file_and_http(
    workspace: Workspace, artifacts_dir: Path
) -> None:
    """The index (file://) and an area page (loopback HTTP) load and render; screenshots kept."""
    chromium = require_executable("chromium")
    write_sample_digests(workspace)
    anyio.run(
        functools.partial(generate_pages, workspace, NAMES, DirectWriter(workspace), html=True)
    )
    preview = workspace.root / "site"
    shots = {
        "preview-index.png": (preview / "index.html").as_uri(),
        "preview-area-zh.png": None,
    }
    with _serve(preview) as base:
        shots["preview-area-zh.png"] = base + "zh/areas/webgpu/index.html"
        for name, url in shots.items():
            target = artifacts_dir / name
            target.unlink(missing_ok=True)
            _chromium(chromium, str(url), f"--screenshot={target}")
            data = target.read_bytes() if target.exists() else b""
            assert data.startswith(PNG_MAGIC), f"no screenshot of {url}"
            assert len(data) > 5000
        dom = _chromium(chromium, base + "zh/areas/webgpu/index.html", "--dump-dom").stdout
    text = dom.decode("utf-8")
    assert "图形与 WebGPU" in text
    assert "Chrome 144 Beta 版" in text
