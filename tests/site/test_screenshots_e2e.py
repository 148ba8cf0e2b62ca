"""The built Jekyll site in a real browser: Chromium screenshots of the home page, a release,
an area, an area timeline and a digest page in both languages and at phone width, served
over loopback HTTP (the Jekyll output needs a server: its folder links end in ``/``).
Screenshots are kept in ``test-artifacts/site/`` for a person to look at."""

import shutil
import struct
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import pytest

from tests.conftest import require_executable
from tests.site.corpus_site import NAMES, find_corpus, write_corpus_digests
from tests.site_samples import write_sample_digests
from webplatform_digest.services.pages import generate_pages
from webplatform_digest.storage.workspace import Workspace
from webplatform_digest.storage.writers import DirectWriter

pytestmark = pytest.mark.e2e
DESKTOP = (1200, 900)
PHONE = (390, 844)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No request log on stderr."""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(base URL of the built site on loopback, newest release) for the whole module."""
    jekyll = require_executable("jekyll")
    root = tmp_path_factory.mktemp("shots")
    workspace = Workspace.at(root)
    corpus = find_corpus()
    if corpus is not None:
        write_corpus_digests(workspace, corpus, range(142, 145))
    else:
        write_sample_digests(workspace)

    async def build() -> None:
        await generate_pages(workspace, NAMES, DirectWriter(workspace))
        command = [jekyll, "build", "--safe", "--disable-disk-cache", "--source"]
        command += [str(root / Workspace.DIGESTS), "--destination", str(root / "_site")]
        await anyio.run_process(command, cwd=root)

    anyio.run(build)
    handler = partial(_QuietHandler, directory=str(root / "_site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", 144
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _chromium(*arguments: str) -> bytes:
    browser = require_executable("chromium")
    profile = tempfile.mkdtemp(prefix="wpd-chromium-")
    try:
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"]
        command += ["--no-first-run", "--disable-background-networking"]
        command += ["--disable-component-update", "--disable-sync", "--hide-scrollbars"]
        command += ["--run-all-compositor-stages-before-draw", "--virtual-time-budget=2000"]
        command += [f"--user-data-dir={profile}", *arguments]
        done = subprocess.run(command, capture_output=True, timeout=60, check=False)
        return done.stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


SHOTS = [
    ("home-en", "/", DESKTOP),
    ("release-en", "/versions/chrome-{v}/", DESKTOP),
    ("release-zh", "/zh/versions/chrome-{v}/", DESKTOP),
    ("area-en", "/areas/graphics-webgpu/", DESKTOP),
    ("area-zh", "/zh/areas/graphics-webgpu/", DESKTOP),
    ("timeline-zh", "/zh/areas/css/timeline/", DESKTOP),
    ("digest-en", "/versions/chrome-{v}/graphics-webgpu.html", (1200, 2400)),
    ("digest-zh-phone", "/zh/versions/chrome-{v}/graphics-webgpu.html", PHONE),
]


@pytest.mark.parametrize(("name", "path", "size"), SHOTS, ids=[s[0] for s in SHOTS])
def test_chromium_renders_the_page_as_a_screenshot(
    served: tuple[str, int], artifacts_dir: Path, name: str, path: str, size: tuple[int, int]
) -> None:
    base, version = served
    out = artifacts_dir / "site" / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    url = base + path.format(v=version)
    _chromium(f"--screenshot={out}", f"--window-size={size[0]},{size[1]}", url)
    assert out.is_file(), url  # chromium exits 0 even when the page fails to load
    assert _png_size(out) == size
    assert out.stat().st_size > 10_000  # a rendered page, not a blank one


def test_a_chinese_page_has_chinese_chrome_and_an_english_page_english(
    served: tuple[str, int],
) -> None:
    base, version = served
    chinese = _chromium("--dump-dom", f"{base}/zh/versions/chrome-{version}/").decode("utf-8")
    english = _chromium("--dump-dom", f"{base}/versions/chrome-{version}/").decode("utf-8")
    assert '<html lang="zh-CN">' in chinese
    for text in ("Web 平台更新摘要", ">版本<", ">关注领域<", ">Atom 订阅<", "原始发布说明", "来源"):
        assert text in chinese, text
    for text in (">Releases<", ">Focus areas<", ">Atom feed<", "Source release notes"):
        assert text in english, text
        assert text not in chinese, text
