"""``webplatform-digest run``: a real subprocess against a loopback OpenAI-compatible server."""

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SAMPLES_DIR
from tests.digest_samples import answer_from_prompt, sample_subjects, write_processed
from tests.server_process import clean_env
from webplatform_digest.cli import main
from webplatform_digest.cli.digest import offline_warning
from webplatform_digest.digest.files import parse_digest_file
from webplatform_digest.storage.workspace import Workspace

# every test runs the CLI as a subprocess
pytestmark = pytest.mark.slow

API_KEY = "sk-loopback-test-key"


class FakeOpenAI(ThreadingHTTPServer):
    """A loopback ``/v1/chat/completions`` that answers valid digests and records requests."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict[str, Any]] = []
        self.authorization: list[str | None] = []
        #: when set, every request fails with HTTP 500 and this body
        self.fail_body: bytes | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        assert isinstance(self.server, FakeOpenAI)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        self.server.authorization.append(self.headers.get("Authorization"))
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        if self.server.fail_body is not None:
            self.send_response(500)
            self.send_header("Content-Length", str(len(self.server.fail_body)))
            self.end_headers()
            self.wfile.write(self.server.fail_body)
            return
        prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
        payload = json.dumps(
            {
                "model": body["model"],
                "choices": [
                    {"message": {"role": "assistant", "content": answer_from_prompt(prompt)}}
                ],
                "usage": {"prompt_tokens": 100, "completion_tokens": 50},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def llm_server() -> Iterator[FakeOpenAI]:
    """A real HTTP server on 127.0.0.1:0 in a background thread."""
    server = FakeOpenAI()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def root(workspace: Workspace) -> Path:
    """A workspace whose Chrome 144 area data is processed (hand-written sample areas)."""
    write_processed(workspace, sample_subjects())
    return workspace.root


def _cli(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WEBPLATFORM_")}
    return subprocess.run(
        [sys.executable, "-m", "webplatform_digest", "run", "--root", str(root), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=clean | (env or {}),
        timeout=120,
        check=False,
    )


def test_a_run_against_an_openai_compatible_server_writes_every_digest(
    root: Path, llm_server: FakeOpenAI
) -> None:
    """Four chat completions (2 areas × EN/ZH), files written, JSON summary on stdout."""
    result = _cli(
        root,
        "--version", "144", "--llm", "openai", "--llm-base-url", llm_server.base_url,
        "--llm-model", "loop-model", "--json",
        env={"WEBPLATFORM_LLM_API_KEY": API_KEY},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert set(summary) >= {"run_id", "version", "channel", "areas", "llm_calls", "cache_hits",
                            "fallbacks", "wall_seconds", "written"}  # fmt: skip
    assert summary["areas"] == {
        "css": {"en": "ok", "zh": "ok"},
        "javascript": {"en": "ok", "zh": "ok"},
    }
    assert (summary["llm_calls"], summary["fallbacks"]) == (4, 0)
    assert len(llm_server.requests) == 4
    assert {r["model"] for r in llm_server.requests} == {"loop-model"}
    assert set(llm_server.authorization) == {f"Bearer {API_KEY}"}
    assert API_KEY not in result.stdout + result.stderr
    zh = root / "digest_markdown/areas/css/chrome-144-zh.md"
    digest = parse_digest_file(zh.read_bytes())
    assert (digest.backend, digest.status.value) == ("openai", "ok")
    assert "功能" in digest.markdown
    telemetry = (root / ".monitoring/telemetry.jsonl").read_text(encoding="utf-8")
    assert API_KEY not in telemetry
    assert json.loads((root / ".monitoring/progress.json").read_text())["status"] == "completed"


def test_a_second_run_is_answered_from_the_reply_cache(root: Path, llm_server: FakeOpenAI) -> None:
    """Unchanged inputs: no request reaches the server and no file is rewritten."""
    args = ("--version", "144", "--llm-base-url", llm_server.base_url, "--json")
    first = _cli(root, *args)
    assert first.returncode == 0, first.stderr
    calls = len(llm_server.requests)
    again = _cli(root, *args)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert len(llm_server.requests) == calls == 4
    assert (summary["llm_calls"], summary["cache_hits"]) == (0, 4)
    assert summary["areas"]["css"] == {"en": "cached", "zh": "cached"}
    assert summary["written"] == []
    assert _cli(root, *args, "--no-cache").returncode == 0
    assert len(llm_server.requests) == 8


def test_the_offline_cli_run_never_imports_fastmcp(root: Path) -> None:
    """The batch path stays light: fastmcp (and the MCP SDK) are not loaded."""
    code = (
        "import sys\n"
        "from webplatform_digest.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('fastmcp', 'mcp'))\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("WEBPLATFORM_")}
    result = subprocess.run(
        [sys.executable, "-c", code, "run", "--version", "144", "--llm", "offline",
         "--root", str(root)],
        capture_output=True, text=True, timeout=120, env=clean, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stderr
    assert "css" in result.stdout
    assert "fallback" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--areas", "css,blink"], "unknown focus area 'blink'; valid areas: css, html-dom"),
        (["--areas", ",".join(["css"] * 10_000)], "too many focus areas (10000)"),
        (["--version", "150"], "has not been processed yet; run: webplatform-digest process"),
        (["--version", "14x"], "Chrome milestone number such as 144"),
        (["--llm", "openai"], "needs WEBPLATFORM_LLM_BASE_URL"),
    ],
)
def test_bad_input_is_one_clear_line_and_nothing_is_written(
    root: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """Exit code 2, a single stderr line, no digest, no run registered."""
    argv = ["run", "--root", str(root), "--version", "144", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert not (root / "digest_markdown").exists()
    assert not (root / ".monitoring").exists()


def test_a_failed_write_exits_non_zero_with_the_reason(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file in the way of an area directory: the run fails, the message names the cause."""
    (root / "digest_markdown" / "areas").mkdir(parents=True)
    (root / "digest_markdown" / "areas" / "css").write_text("in the way", encoding="utf-8")
    code = main(["run", "--root", str(root), "--version", "144", "--llm", "offline"])
    assert code == 1
    assert "webplatform-digest: " in capsys.readouterr().err


def test_run_without_a_version_or_with_an_unknown_resume_id_fails_with_one_line(
    tmp_path: Path,
) -> None:
    """``run`` needs --version or --resume; an unknown run id is a clear error, exit 2."""
    no_version = subprocess.run(
        [sys.executable, "-m", "webplatform_digest", "run", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    unknown = subprocess.run(
        [
            sys.executable,
            "-m",
            "webplatform_digest",
            "run",
            "--root",
            str(tmp_path),
            "--resume",
            "no-such-run-000",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert no_version.returncode == 2
    assert "--version" in no_version.stderr
    assert unknown.returncode == 2
    assert "no-such-run-000" in unknown.stderr
    assert unknown.stderr.count("\n") == 1


def _model_run(root: Path, llm_server: FakeOpenAI) -> dict[str, bytes]:
    """A model-written Chrome 144 (both areas, both languages); the files' bytes by name."""
    done = _cli(root, "--version", "144", "--llm-base-url", llm_server.base_url, "--json")
    assert done.returncode == 0, done.stderr
    folder = root / "digest_markdown/areas"
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.md"))}


def test_an_offline_run_keeps_the_model_digests_and_says_so(
    root: Path, llm_server: FakeOpenAI
) -> None:
    """No model this time: every model digest stays byte for byte, reported as kept."""
    before = _model_run(root, llm_server)
    result = _cli(root, "--version", "144", "--llm", "offline")
    assert result.returncode == 0, result.stderr
    after = {p: (root / "digest_markdown/areas" / p).read_bytes() for p in before}
    assert after == before
    assert "  css                    en: kept  zh: kept\n" in result.stdout
    assert "kept css/en: kept the model digest of " in result.stdout
    assert "backend: offline (WEBPLATFORM_LLM_BACKEND=offline" in result.stdout
    assert "0 fallbacks" in result.stdout


def test_a_kept_digest_of_changed_area_data_is_marked_stale(
    root: Path, llm_server: FakeOpenAI
) -> None:
    before = _model_run(root, llm_server)
    changed = sample_subjects()[0]
    fewer = replace(changed, data=replace(changed.data, features=changed.data.features[:1]))
    write_processed(Workspace.at(root), (fewer,))
    result = _cli(root, "--version", "144", "--llm", "offline", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    area = fewer.data.area
    assert summary["areas"][area] == {"en": "kept", "zh": "kept"}
    assert "marked stale" in summary["kept"][area]["en"]
    kept = parse_digest_file((root / f"digest_markdown/areas/{area}/chrome-144-en.md").read_bytes())
    assert kept.stale
    assert kept.status.value == "ok"
    assert kept.markdown == parse_digest_file(before[f"{area}/chrome-144-en.md"]).markdown


def test_overwrite_replaces_model_digests_with_fallbacks(
    root: Path, llm_server: FakeOpenAI
) -> None:
    _model_run(root, llm_server)
    result = _cli(root, "--version", "144", "--llm", "offline", "--overwrite", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["areas"]["css"] == {"en": "fallback", "zh": "fallback"}
    written = parse_digest_file((root / "digest_markdown/areas/css/chrome-144-en.md").read_bytes())
    assert written.status.value == "fallback"


def test_require_llm_refuses_an_offline_backend_before_anything_runs(root: Path) -> None:
    result = _cli(root, "--version", "144", "--require-llm")
    assert result.returncode == 3
    assert result.stderr.count("\n") == 1
    assert "--require-llm: the backend is offline" in result.stderr
    assert not (root / "digest_markdown").exists()


def test_require_llm_fails_a_run_that_ends_with_fallbacks(root: Path) -> None:
    """The endpoint refuses every connection: the fallbacks are written, the exit code is 3."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = _cli(
        root, "--version", "144", "--llm-base-url", f"http://127.0.0.1:{port}/v1",
        "--require-llm", "--json",
        env={"WEBPLATFORM_MAX_RETRIES": "0", "WEBPLATFORM_BREAKER_WAIT": "false"},
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert "--require-llm: no model digest for css/en" in result.stderr
    assert json.loads(result.stdout)["backend"] == "openai"


def test_the_run_id_is_named_on_stderr_before_the_run(root: Path) -> None:
    result = _cli(root, "--version", "144", "--llm", "offline", "--json")
    run_id = json.loads(result.stdout)["run_id"]
    assert result.stderr.startswith(f"webplatform-digest: run {run_id} started (Chrome 144")


@pytest.mark.parametrize(
    ("backend", "configured", "interactive", "warned"),
    [
        ("offline", "auto", True, True),
        ("offline", "auto", False, False),
        ("offline", "offline", True, False),
        ("openai", "auto", True, False),
    ],
)
def test_an_offline_fallback_of_auto_is_one_warning_line_on_a_terminal(
    backend: str, configured: str, interactive: bool, warned: bool
) -> None:
    warning = offline_warning(backend, configured, interactive=interactive)
    assert bool(warning) is warned
    assert "\n" not in warning
    if warned:
        assert "WEBPLATFORM_LLM_BASE_URL" in warning


def test_a_run_in_four_languages_writes_each_and_an_unchanged_rerun_asks_nothing(
    root: Path, llm_server: FakeOpenAI
) -> None:
    """en,zh,ja,es: one English and three translations per area; the second run is cached."""
    args = ("--version", "144", "--language", "ja,en,zh,es", "--llm", "openai",
            "--llm-base-url", llm_server.base_url, "--json")  # fmt: skip
    first = _cli(root, *args)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["areas"]["css"] == {"en": "ok", "zh": "ok", "ja": "ok", "es": "ok"}
    assert len(llm_server.requests) == 8
    ja = parse_digest_file((root / "digest_markdown/areas/css/chrome-144-ja.md").read_bytes())
    assert (ja.language.value, ja.status.value) == ("ja", "ok")
    assert "機能" in ja.markdown
    again = json.loads(_cli(root, *args).stdout)
    assert len(llm_server.requests) == 8
    assert (again["llm_calls"], again["cache_hits"]) == (0, 8)


def test_the_languages_variable_and_the_parallel_flag_reach_an_offline_run(root: Path) -> None:
    """WEBPLATFORM_LANGUAGES picks the languages; each offline page is labelled in its language."""
    result = _cli(
        root, "--version", "144", "--llm", "offline", "--parallel-languages", "--json",
        env={"WEBPLATFORM_LANGUAGES": "en,ko,pt-BR"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["areas"]["css"] == {
        "en": "fallback",
        "ko": "fallback",
        "pt-BR": "fallback",
    }
    korean = (root / "digest_markdown/areas/css/chrome-144-ko.md").read_text(encoding="utf-8")
    assert "번역되지 않음" in korean
    assert "language: ko" in korean
    assert not (root / "digest_markdown/areas/css/chrome-144-zh.md").exists()


def test_without_a_terminal_each_finished_digest_is_one_stderr_line(root: Path) -> None:
    """No TTY: ``[n/total] <area> <language>: <status> (<seconds> s)`` per digest; --quiet: none."""
    plain = _cli(root, "--version", "144", "--llm", "offline")
    assert plain.returncode == 0, plain.stderr
    lines = [line for line in plain.stderr.splitlines() if line.startswith("[")]
    assert len(lines) == 4
    assert lines[-1].startswith("[4/4] ")
    assert all(line.endswith(" s)") and ": " in line for line in lines)
    quiet = _cli(root, "--version", "144", "--llm", "offline", "--quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert not [line for line in quiet.stderr.splitlines() if line.startswith("[")]


def test_an_endpoint_error_body_never_reaches_a_digest_reason(
    root: Path, llm_server: FakeOpenAI
) -> None:
    """HTTP 500 with a script body: the fallback's ``reason:`` keeps class and status only."""
    llm_server.fail_body = b"<script>alert('body')</script>"
    result = _cli(
        root,
        "--version", "144", "--areas", "css", "--llm", "openai",
        "--llm-base-url", llm_server.base_url,
        env={"WEBPLATFORM_MAX_RETRIES": "0", "WEBPLATFORM_LLM_API_KEY": API_KEY},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = (root / "digest_markdown/areas/css/chrome-144-en.md").read_text(encoding="utf-8")
    reason = next(line for line in text.splitlines() if line.startswith("reason:"))
    assert "BackendError" in reason
    assert "HTTP 500" in reason
    assert "script" not in text


def test_process_and_run_take_a_range_and_summarise_every_release(tmp_path: Path) -> None:
    """Notes 144, 145 and 146-beta: ``--range 140-145`` processes and digests the two stable
    ones; the JSON summary has a row per release and totals."""
    notes = tmp_path / "release_notes"
    notes.mkdir()
    stable = (SAMPLES_DIR / "release_notes/chrome-145.sample.md").read_text(encoding="utf-8")
    (notes / "chrome-145.md").write_text(stable, encoding="utf-8")
    (notes / "chrome-144.md").write_text(stable.replace("145", "144"), encoding="utf-8")
    beta = SAMPLES_DIR / "release_notes/chrome-146-beta.sample.md"
    (notes / "chrome-146-beta.md").write_bytes(beta.read_bytes())
    command = [sys.executable, "-m", "webplatform_digest"]
    processed = subprocess.run(
        [*command, "process", "--range", "140-145", "--root", str(tmp_path), "--json"],
        capture_output=True, text=True, env=clean_env({}), timeout=60, check=False,
    )  # fmt: skip
    assert processed.returncode == 0, processed.stderr
    assert [s["version"] for s in json.loads(processed.stdout)] == [144, 145]
    ran = _cli(tmp_path, "--range", "140-146", "--areas", "css", "--llm", "offline", "--json")
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert [r["version"] for r in summary["releases"]] == [144, 145]
    assert summary["totals"]["releases"] == 2
    assert summary["totals"]["fallbacks"] == 4
