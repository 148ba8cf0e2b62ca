"""What every CLI command shares: JSON output, a started container, settings from the arguments
(full or light)."""

import argparse
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from webplatform_digest.container import Container
    from webplatform_digest.quick_settings import QuickSettings
    from webplatform_digest.settings import Settings

T = TypeVar("T")


def emit_json(payload: Any) -> None:
    """Print one JSON document to stdout."""
    # imported here, like everything else a command needs: ``--help`` never pays for it
    import orjson

    sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")


def with_container(settings: "Settings", action: "Callable[[Container], Awaitable[T]]") -> T:
    """Run ``action`` with a started container (write queue, telemetry, HTTP client), so CLI
    writes go through the same queue and workspace lock as a server's."""
    import anyio

    from webplatform_digest.container import Container

    container = Container(settings, metrics=False)

    async def main() -> T:
        async with container.running():
            return await action(container)

    try:
        return anyio.run(main)
    finally:
        container.close()


def root_override(args: argparse.Namespace) -> Path | None:
    """``--root``, else the current directory when ``WEBPLATFORM_ROOT`` is not set; None when
    the variable decides."""
    root: Path | None = getattr(args, "root", None)
    if root is None and "WEBPLATFORM_ROOT" not in os.environ:
        return Path.cwd()
    return root


def quick_settings_for(args: argparse.Namespace) -> "QuickSettings | None":
    """The light settings of a command (``--root`` applied), or None when ``Settings`` must
    be built: a variable only it can judge, or ``-v`` (the full path logs what it does)."""
    from webplatform_digest.quick_settings import quick_settings

    if getattr(args, "verbose", False):
        return None
    return quick_settings(os.environ, root_override(args))


def settings_for(args: argparse.Namespace, **overrides: Any) -> "Settings":
    """Settings from the environment, with ``--root`` and explicit overrides applied."""
    from webplatform_digest.settings import load_settings

    root = root_override(args)
    if root is not None:
        overrides["root"] = root
    return load_settings(**overrides)
