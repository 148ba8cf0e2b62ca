"""The CLI as a user first meets it: help, ``--version``, and one-line refusals to serve."""

import argparse
import socket
import subprocess
import sys
from pathlib import Path

from tests.server_process import clean_env
from webplatform_digest import __version__
from webplatform_digest.cli import build_parser


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "webplatform_digest", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=clean_env(env or {}),
        timeout=60,
        check=False,
    )


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:  # pyright: ignore[reportPrivateUsage]
        if isinstance(action, argparse._SubParsersAction):  # pyright: ignore[reportPrivateUsage]
            for child in action.choices.values():  # pyright: ignore[reportUnknownVariableType]
                assert isinstance(child, argparse.ArgumentParser)
                found += [child, *_subparsers(child)]
    return found


def test_every_option_of_every_subcommand_has_help_and_every_subcommand_an_example() -> None:
    """Walks the whole parser: no option without help text, no command without an example."""
    commands = _subparsers(build_parser())
    assert len(commands) >= 10
    for command in commands:
        assert command.description, command.prog
        assert "webplatform-digest" in (command.epilog or ""), command.prog
        for action in command._actions:  # pyright: ignore[reportPrivateUsage]
            if action.option_strings:
                assert action.help, f"{command.prog} {action.option_strings}"


def test_help_shows_a_default_that_is_not_none() -> None:
    """``run --help`` names the default channel and language."""
    result = _cli("run", "--help")
    assert result.returncode == 0
    assert "(default: stable)" in result.stdout
    assert "example:" in result.stdout


def test_version_prints_the_package_version() -> None:
    result = _cli("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"webplatform-digest {__version__}")


def test_verbose_is_accepted_after_the_subcommand(tmp_path: Path) -> None:
    """``areas -v`` parses like ``-v areas``."""
    args = build_parser().parse_args(["areas", "-v", "--root", str(tmp_path)])
    assert args.verbose is True
    assert build_parser().parse_args(["-v", "areas"]).verbose is True
    assert build_parser().parse_args(["areas"]).verbose is False


def test_serving_a_network_address_without_a_token_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    """0.0.0.0 with no WEBPLATFORM_HTTP_TOKEN: exit 2, one line saying why, nothing served."""
    result = _cli(
        "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "0", "--root", str(tmp_path)
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "webplatform-digest: refusing to serve on 0.0.0.0 without WEBPLATFORM_HTTP_TOKEN: anyone "
        "on the network could run tools; set a token or pass --allow-unauthenticated"
    ]


def test_a_port_already_in_use_is_one_line_naming_it(tmp_path: Path) -> None:
    """Another listener on the port: exit 2 and one line, no traceback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _cli("serve", "--transport", "http", "--port", str(port), "--root", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}: the address is already in use" in lines[0]


def test_comma_separated_allowed_hosts_reach_the_server_settings(tmp_path: Path) -> None:
    """``WEBPLATFORM_HTTP_ALLOWED_HOSTS=a,b`` is read, not a traceback (the CLI starts)."""
    result = _cli(
        "areas", "--json", "--root", str(tmp_path),
        env={"WEBPLATFORM_HTTP_ALLOWED_HOSTS": "a.example,b.example"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_the_stdio_server_says_nothing_on_stderr_at_the_default_level(tmp_path: Path) -> None:
    """No INFO start-up banner at WARNING: stdin closed at once, clean exit, empty stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "webplatform_digest", "serve", "--root", str(tmp_path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=clean_env({}),
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")


def test_a_malformed_focus_area_file_stops_the_server_before_it_announces_itself(
    tmp_path: Path,
) -> None:
    """One line naming the file and line, exit 2, and never the "serving MCP" banner."""
    (tmp_path / "focus_areas").mkdir()
    (tmp_path / "focus_areas/bad.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    result = _cli("serve", "--transport", "http", "--port", "0", "--root", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "webplatform-digest: focus area file focus_areas/bad.yaml: "
        "did not find expected ',' or ']' (line 2)"
    ]


def test_a_root_nothing_can_be_created_under_is_one_line_naming_it() -> None:
    """``--root /proc/nope`` (unwritable even for root): exit non-zero, the path, no traceback."""
    result = _cli("process", "--all", "--root", "/proc/nope")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("webplatform-digest: ")
    assert "/proc/nope" in lines[0]
