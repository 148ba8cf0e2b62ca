"""``webplatform-digest init-site DIR``: write a ready site repository (see site/repository.py)."""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # the parser is built for --help too: pydantic loads only when a command runs
    from webplatform_digest.settings import Settings


def add_parser(sub: Any, command: Any, common: Any) -> None:
    """Add ``init-site`` to the subcommands (``command`` and ``common`` are the CLI's helpers)."""
    p = command(
        sub,
        "init-site",
        "write a site repository: Jekyll config, weekly update workflow, README",
        "webplatform-digest init-site ./my-digest",
    )
    p.add_argument("directory", type=Path, help="where to write the repository")
    p.add_argument("--force", action="store_true", help="write into a non-empty directory")
    p.add_argument(
        "--package",
        default="webplatform-digest",
        help="what the workflow pip-installs (a version pin or a git URL)",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log INFO to stderr"
    )


def run_init_site_command(args: argparse.Namespace, settings: "Settings") -> int:
    """Write the repository's files; refuse a non-empty directory unless ``--force``.

    Raises:
        InputError: the directory is not empty (and no ``--force``), or is a file.
        WriteError: a file could not be written.
    """
    from webplatform_digest.errors import InputError
    from webplatform_digest.site.repository import repository_files
    from webplatform_digest.storage.commit import atomic_write

    directory: Path = args.directory
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} is a file, not a directory")
    if directory.is_dir() and any(directory.iterdir()) and not args.force:
        raise InputError(f"{directory} is not empty; pass --force to write into it")
    for rel, data in repository_files(args.package).items():
        target = directory / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data)
        print(f"wrote {target}")
    print(f"next: push {directory} to GitHub, set Pages to GitHub Actions, add the LLM secrets")
    return 0
