"""The server as a real subprocess, started one way for every test and benchmark.

* ``running_server(root, env)``: ``python -m webplatform_digest serve --transport http`` on a
  free loopback port; ready once its banner names the port (read from its stderr as it is
  written, so no polling and no sleeps); stderr is kept in ``root/<log_name>``; killed on exit.
* ``stdio_session(env, errlog)``: ``python fast_mcp_server.py`` driven by the official ``mcp``
  client over stdio (the client owns that process's pipes).
* ``shim_processes()``: the stdio server processes this process started.
"""

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncGenerator, Generator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import IO, TextIO

import psutil
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.conftest import REPO_ROOT

#: the stdio entry point MCP hosts run
SHIM = REPO_ROOT / "fast_mcp_server.py"
#: the banner the HTTP server logs once it listens
READY = re.compile(r"serving MCP on http://127\.0\.0\.1:(\d+)/mcp")
#: how long a server may take to print its banner (a cold start on a loaded machine)
READY_TIMEOUT = 30.0


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without WEBPLATFORM_* settings, plus ``extra``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("WEBPLATFORM_")}
    return base | dict(extra)


def run_cli(
    root: Path, *args: str, env: Mapping[str, str] | None = None, prefix: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """``webplatform-digest ARGS --root ROOT`` as a real subprocess (no colours, wide tables),
    run through the command ``prefix`` if given."""
    environment = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "webplatform_digest", *args, "--root", str(root)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=environment,
        timeout=60,
        check=False,
    )


def shim_command() -> list[str]:
    """The command line of the stdio server."""
    return [sys.executable, str(SHIM)]


def http_command(root: Path) -> list[str]:
    """The command line of an HTTP server over ``root`` on a free loopback port."""
    serve = (sys.executable, "-m", "webplatform_digest", "serve", "--transport", "http")
    return [*serve, "--port", "0", "--root", str(root)]


class _Banner:
    """Copies the server's stderr into a log file, line by line, and watches for the banner."""

    def __init__(self, stream: IO[bytes], log: Path) -> None:
        self.port: int | None = None
        self.seen = threading.Event()  # the banner arrived, or stderr ended without it
        out = log.open("wb")  # exists before the caller may read it
        self._thread = threading.Thread(target=self._copy, args=(stream, out), daemon=True)
        self._thread.start()

    def _copy(self, stream: IO[bytes], out: IO[bytes]) -> None:
        with stream, out:
            for line in stream:
                out.write(line)
                out.flush()
                if self.port is None and (match := READY.search(line.decode(errors="replace"))):
                    self.port = int(match.group(1))
                    self.seen.set()
        self.seen.set()

    def join(self, timeout: float) -> None:
        """Wait for the copy to finish (stderr closed)."""
        self._thread.join(timeout)


class ServerProcess:
    """A running ``webplatform-digest serve --transport http`` subprocess."""

    def __init__(self, process: subprocess.Popen[bytes], root: Path, stderr: Path) -> None:
        assert process.stderr is not None
        self.process = process
        self.root = root
        self.stderr = stderr
        self._banner = _Banner(process.stderr, stderr)
        self.port = 0

    @classmethod
    def start(
        cls,
        root: Path,
        env: Mapping[str, str],
        *,
        log_name: str = "server-stderr.log",
        ready_timeout: float = READY_TIMEOUT,
    ) -> "ServerProcess":
        """Start a server and wait until it serves; use ``running_server`` to have it stopped.

        Raises:
            AssertionError: the server exited early or did not start in time (with its log).
        """
        process = subprocess.Popen(
            http_command(root),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=clean_env(env),
        )
        server = cls(process, root, root / log_name)
        server._await_banner(ready_timeout)
        return server

    def _await_banner(self, timeout: float) -> None:
        ended = self._banner.seen.wait(timeout)
        if self._banner.port is not None:
            self.port = self._banner.port
            return
        self.kill()
        if ended:
            raise AssertionError(f"server exited early:\n{self.log()}")
        raise AssertionError(f"server did not start within {timeout:g} s:\n{self.log()}")

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        """The streamable-HTTP MCP endpoint."""
        return f"{self.url}/mcp"

    def log(self) -> str:
        """Everything the server wrote to stderr so far."""
        return self.stderr.read_text(encoding="utf-8", errors="replace")

    def terminate(self, timeout: float = 10.0) -> int:
        """SIGTERM, then wait; returns the exit code (stderr fully copied by then).

        Raises:
            subprocess.TimeoutExpired: the process did not exit within ``timeout``.
        """
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self._banner.join(timeout)
        return code

    def kill(self) -> None:
        """SIGKILL and reap (no-op if already gone)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._banner.join(10)


@contextmanager
def running_server(
    root: Path, env: Mapping[str, str], *, log_name: str = "server-stderr.log"
) -> Generator[ServerProcess]:
    """A started HTTP server over ``root`` (environment: ours without WEBPLATFORM_*, plus
    ``env``), killed on exit unless the block already stopped it."""
    server = ServerProcess.start(root, env, log_name=log_name)
    try:
        yield server
    finally:
        server.kill()


@asynccontextmanager
async def stdio_session(
    env: Mapping[str, str], errlog: TextIO, prefix: Sequence[str] = ()
) -> AsyncGenerator[ClientSession]:
    """An ``mcp`` client session (not yet initialised) with a stdio server started with ``env``
    (added to the client's default environment), through the command ``prefix`` if given; the
    server's stderr goes to ``errlog``."""
    command, *args = [*prefix, *shim_command()]
    params = StdioServerParameters(command=command, args=args, env=dict(env))
    async with (
        stdio_client(params, errlog=errlog) as (read, write),
        ClientSession(read, write) as session,
    ):
        yield session


def shim_processes() -> list[psutil.Process]:
    """The stdio server processes below this process."""
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if any(str(SHIM) in part for part in child.cmdline())
    ]
