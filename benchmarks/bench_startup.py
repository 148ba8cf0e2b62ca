"""Whole-process start-up: each batch command as a fresh interpreter against the floor.

The floor is ``python -c "import yaml, json"``, measured in the same rounds. Every round runs
the floor and each command once, interleaved, so machine load hits them alike; figures are
medians. Commands run on unchanged input (``process`` after a first pass, ``pages`` on a
generated site), which is what a user re-running them pays: they are answered from the stamps
the first passes left (``cli/fast.py``). ``process_full`` and ``pages_full`` run the same
commands with a variable only ``Settings`` knows set, which sends them down the full path
(pydantic, the container, the parser or the renderers): what every run paid before the stamps.
Target: ``process`` and ``pages`` each ≤ 4× the floor.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import copy_notes, corpus_dir

ROUNDS = 7
TARGET_RATIO = 4.0
FLOOR = (sys.executable, "-c", "import yaml, json")
COMMANDS: dict[str, tuple[str, ...]] = {
    "help": ("--help",),
    "process": ("process", "--version", "144"),
    "pages": ("pages",),
    "areas": ("areas", "--json"),
    "runs": ("runs", "--json"),
    "telemetry_summary": ("telemetry", "summary", "--json"),
}
#: the same commands down the full path: a valid variable the light settings leave to Settings
FULL_PATH: dict[str, tuple[str, ...]] = {
    "process_full": COMMANDS["process"],
    "pages_full": COMMANDS["pages"],
}
FULL_PATH_VARIABLE = ("WEBPLATFORM_LOG_LEVEL", "WARNING")


def _environment(root: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WEBPLATFORM_")}
    # a user's installation keeps its bytecode; without it every round would compile again
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    return base | {"WEBPLATFORM_ROOT": str(root), "WEBPLATFORM_LLM_BACKEND": "offline"}


def _seconds(command: tuple[str, ...], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def _cli(*args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "webplatform_digest", *args)


def run() -> dict[str, Any]:
    """Median wall time of the floor and each command, and each command's ratio to it."""
    corpus = corpus_dir()
    if corpus is None or not (corpus / "chrome-144.md").is_file():
        return {"skipped": "no corpus with chrome-144.md"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        copy_notes(corpus, root, (144,))
        env = _environment(root)
        full_env = env | dict([FULL_PATH_VARIABLE])
        # first passes make the inputs unchanged and warm the bytecode and disk caches
        for args in (("process", "--version", "144"), ("run", "--version", "144"), ("pages",)):
            _seconds(_cli(*args), env)
        names = ("floor", *COMMANDS, *FULL_PATH)
        timings: dict[str, list[float]] = {name: [] for name in names}
        for _ in range(ROUNDS):
            timings["floor"].append(_seconds(FLOOR, env))
            for name, args in COMMANDS.items():
                timings[name].append(_seconds(_cli(*args), env))
            for name, args in FULL_PATH.items():
                timings[name].append(_seconds(_cli(*args), full_env))
    medians = {name: statistics.median(values) for name, values in timings.items()}
    floor = medians["floor"]
    figures: dict[str, Any] = {"rounds": ROUNDS, "floor_ms": floor * 1000}
    for name in (*COMMANDS, *FULL_PATH):
        figures[f"{name}_ms"] = medians[name] * 1000
        figures[f"{name}_x_floor"] = medians[name] / floor
    figures["target_x_floor"] = TARGET_RATIO
    figures["process_and_pages_met"] = max(
        figures["process_x_floor"], figures["pages_x_floor"]
    ) <= (TARGET_RATIO)
    return figures
