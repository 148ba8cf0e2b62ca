"""Runs as other processes leave them in the registry."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

_REGISTER = (
    "import sys, json; from pathlib import Path; "
    "from webplatform_digest.runs.registry import RunRegistry; "
    "print(RunRegistry(Path(sys.argv[1])).create_run(version=144, channel='stable', "
    "params=json.loads(sys.argv[2])))"
)


def run_of_a_dead_process(registry: Path, params: dict[str, Any] | None = None) -> str:
    """Register a Chrome 144 run from a process that then exits (as after SIGKILL); its id."""
    done = subprocess.run(
        [sys.executable, "-c", _REGISTER, str(registry), json.dumps(params or {})],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()
