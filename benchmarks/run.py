"""``make bench``: run every benchmark section and write ``bench-report.json``.

Each ``benchmarks/bench_<name>.py`` exposes ``run() -> dict`` returning figures (numbers,
ratios, short strings). Sections run in-process, one after another, so ratios in one report
were measured on the same machine in the same minute.
"""

import importlib
import pkgutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import orjson

import benchmarks

ORDER = (
    "startup",
    "pipeline",
    "server",
    "governor",
    "digest",
    "repair",
    "mcp_digest",
    "pages",
    "telemetry",
    "monitor",
)


def _sections() -> list[str]:
    found = [
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules(benchmarks.__path__)
        if m.name.startswith("bench_")
    ]
    ordered = [name for name in ORDER if name in found]
    return ordered + sorted(set(found) - set(ordered))


def _print_section(name: str, figures: dict[str, Any]) -> None:
    print(f"\n== {name} ==")
    for key, value in figures.items():
        shown = f"{value:.4g}" if isinstance(value, float) else value
        print(f"  {key:<48} {shown}")


def main(argv: list[str]) -> int:
    """Run the selected sections (all by default)."""
    wanted = argv or _sections()
    report: dict[str, Any] = {"python": sys.version.split()[0], "sections": {}}
    failed = False
    for name in wanted:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        started = time.perf_counter()
        try:
            figures = module.run()
        except Exception:  # noqa: BLE001 - one broken section must not hide the others
            traceback.print_exc()
            figures, failed = {"error": "failed, see traceback"}, True
        figures["section_seconds"] = round(time.perf_counter() - started, 3)
        report["sections"][name] = figures
        _print_section(name, figures)
    out = Path("bench-report.json")
    out.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    print(f"\nreport written to {out.resolve()}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
