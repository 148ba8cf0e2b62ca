"""The telemetry hook that keeps each run's event log in the run registry."""

import logging
import sqlite3
from dataclasses import asdict

from webplatform_digest.errors import WriteError
from webplatform_digest.events import Event, RunFinished, RunProgress, RunStarted, StageFinished
from webplatform_digest.runs.registry import RunRegistry

log = logging.getLogger(__name__)

#: events a run's log keeps (attempt-level events stay in telemetry.jsonl)
_LOGGED = (RunStarted, StageFinished, RunProgress, RunFinished)


class RunRegistryHook:
    """Telemetry hook writing run-level events into the registry's per-run event log."""

    def __init__(self, registry: RunRegistry) -> None:
        self._registry = registry

    def handle(self, event: Event) -> None:
        """Record a run event; never raises (the registry is advisory for telemetry)."""
        if event.run_id is None or not isinstance(event, _LOGGED):
            return
        data = {k: v for k, v in asdict(event).items() if k != "run_id"}
        try:
            self._registry.append_event(event.run_id, type(event).__name__, data)
        except (sqlite3.Error, WriteError) as exc:
            log.warning("run event not recorded: %s", exc)
