"""The JSON form of a digest run's state, for resume (pure).

The run registry stores ``run_snapshot`` output between input-required rounds and across
restarts; ``restore_run`` turns it back into a ``DigestRun``. Schema 1, unchanged since the
first stored runs (keys in this order; drivers add their own ``"driver"`` key beside them)::

    {"schema": 1, "plan": {...}, "items": [...], "outcomes": [...],
     "llm_calls": n, "cache_hits": n, "last": "..."}
"""

from collections.abc import Mapping
from typing import Any

from webplatform_digest.digest.machine import DigestRun
from webplatform_digest.digest.plan import plan_from_json, plan_to_json
from webplatform_digest.digest.state import ItemState, StageOutcome, outcome_json
from webplatform_digest.errors import RunStateError

SCHEMA = 1


def run_snapshot(run: DigestRun, *, plan_json: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole state of ``run`` as JSON-ready data.

    ``plan_json``: the ``"plan"`` of an earlier snapshot of the same run. The plan never
    changes and carries the area data (the bulk of a snapshot), so callers that snapshot a
    run repeatedly pass it back instead of serialising the plan again.
    """
    return {
        "schema": SCHEMA,
        "plan": plan_json if plan_json is not None else plan_to_json(run.plan),
        "items": [item.to_json() for item in run.items],
        "outcomes": [outcome_json(o) for o in run.outcomes],
        "llm_calls": run.llm_calls,
        "cache_hits": run.cache_hits,
        "last": run.last,
    }


def restore_run(data: Mapping[str, Any]) -> DigestRun:
    """Rebuild a run from ``run_snapshot`` output (other keys, such as ``"driver"``, are
    ignored).

    Raises:
        RunStateError: the snapshot is malformed or from another schema.
    """
    try:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"unknown snapshot schema {data.get('schema')!r}")
        return DigestRun.from_state(
            plan_from_json(data["plan"]),
            [ItemState.from_json(raw) for raw in data["items"]],
            [StageOutcome(**raw) for raw in data["outcomes"]],
            llm_calls=int(data["llm_calls"]),
            cache_hits=int(data["cache_hits"]),
            last=str(data.get("last", "")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RunStateError(f"stored run state cannot be resumed: {exc}") from None
