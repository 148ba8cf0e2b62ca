"""The summary of a digest run: the same keys for the MCP tool and ``run --json`` (pure)."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The result of a run: the same keys for the MCP tool and ``run --json``."""

    run_id: str
    version: int
    channel: str
    areas: dict[str, dict[str, str]]
    llm_calls: int
    cache_hits: int
    fallbacks: int
    wall_seconds: float
    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    status: str = "completed"
    reason: str = ""
    #: the backend that wrote the digests (``sampling``, ``openai``, ``offline``) and why
    backend: str = ""
    backend_reason: str = ""
    #: area → language → why the model digest on disk was kept instead of a fallback
    kept: dict[str, dict[str, str]] = field(default_factory=dict[str, dict[str, str]])
    #: why some input-required rounds carried more requests than the concurrency limit
    round_note: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "run_id": self.run_id,
            "status": self.status,
            "version": self.version,
            "channel": self.channel,
            "areas": {area: dict(row) for area, row in self.areas.items()},
            "llm_calls": self.llm_calls,
            "cache_hits": self.cache_hits,
            "fallbacks": self.fallbacks,
            "wall_seconds": round(self.wall_seconds, 3),
            "written": list(self.written),
            "unchanged": list(self.unchanged),
            **({"reason": self.reason} if self.reason else {}),
            **({"backend": self.backend} if self.backend else {}),
            **({"backend_reason": self.backend_reason} if self.backend_reason else {}),
            **({"kept": {a: dict(row) for a, row in self.kept.items()}} if self.kept else {}),
            **({"round_note": self.round_note} if self.round_note else {}),
        }


def round_note(oversized: list[int]) -> str:
    """Why some input-required rounds carried more requests than the concurrency limit."""
    if not oversized:
        return ""
    rounds = ", ".join(str(n) for n in oversized)
    return (
        f"rounds {rounds} carried more requests than WEBPLATFORM_MAX_CONCURRENCY so that the run "
        "ends within the client's round cap (WEBPLATFORM_INPUT_ROUNDS)"
    )


def overlay(
    table: dict[str, dict[str, str]],
    kept: dict[str, dict[str, str]],
    value: str | Callable[[str, str], str],
) -> dict[str, dict[str, str]]:
    """``table`` with the kept (area, language) cells replaced by ``value``."""
    merged = {area: dict(row) for area, row in table.items()}
    for area, row in kept.items():
        for lang in row:
            if lang in merged.get(area, {}):
                merged[area][lang] = value if isinstance(value, str) else value(area, lang)
    return merged
