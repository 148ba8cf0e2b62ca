"""How a digest's status is decided and reported (pure): accepted, worst of an area, outcomes."""

from collections.abc import Iterable

from webplatform_digest.models import DigestStatus

#: worst first: an area's total outcome is the worst of its items
SEVERITY = (
    DigestStatus.ERROR,
    DigestStatus.FALLBACK,
    DigestStatus.PARTIAL,
    DigestStatus.KEPT,
    DigestStatus.RETRIED,
    DigestStatus.REPAIRED,
    DigestStatus.OK,
    DigestStatus.CACHED,
    DigestStatus.EMPTY,
)
#: the stage outcome recorded for an accepted reply's status (others record ``ok``)
_OUTCOMES = {
    DigestStatus.CACHED: "cached",
    DigestStatus.REPAIRED: "repaired",
    DigestStatus.PARTIAL: "partial",
}


def accepted_status(attempt: int, cached: bool, repairs: tuple[str, ...]) -> DigestStatus:
    """The status of a reply that passed its checks on ``attempt``."""
    if cached and attempt == 1:
        return DigestStatus.CACHED  # the written file keeps its own status (runs/output.py)
    if repairs:
        return DigestStatus.REPAIRED
    return DigestStatus.RETRIED if attempt > 1 else DigestStatus.OK


def stage_outcome(status: DigestStatus) -> str:
    """The stage outcome label recorded when a digest ends with ``status``."""
    return _OUTCOMES.get(status, "ok")


def area_outcome(statuses: Iterable[DigestStatus]) -> str:
    """An area's total outcome: the worst status of its items (an empty area is ``ok``)."""
    worst = min(statuses, key=SEVERITY.index)
    return "ok" if worst is DigestStatus.EMPTY else worst.value


def with_repairs(repairs: tuple[str, ...], reason: str) -> str:
    """An outcome's reason with the repairs listed first as ``repairs: kind, kind``."""
    if not repairs:
        return reason
    listed = "repairs: " + ", ".join(repairs)
    return f"{listed}; {reason}" if reason else listed
