"""Which digest a run writes when a model digest is already on disk (pure).

A model-written digest is the most expensive thing the tool makes. A run that got no model
reply for an area (its digest is a deterministic fallback or an untranslated page) keeps the
model digest of the same release, area and language instead of replacing it, and reports the
area as ``kept``; if the area data has changed since that digest was written, the kept file is
marked ``stale``. ``overwrite`` writes the new digest anyway.
"""

import hashlib
from dataclasses import dataclass, replace

import orjson

from webplatform_digest.models import AreaData, AreaDigest, DigestStatus

#: statuses of digests a model wrote (in whole or in part)
MODEL_STATUSES = frozenset(
    {
        DigestStatus.OK,
        DigestStatus.RETRIED,
        DigestStatus.REPAIRED,
        DigestStatus.PARTIAL,
        DigestStatus.CACHED,
    }
)
#: backends whose digests no model wrote
_NOT_A_MODEL = frozenset({"offline", "deterministic", ""})


@dataclass(frozen=True, slots=True)
class KeepDecision:
    """What to write for one digest, and why an earlier one was kept (``""``: not kept)."""

    digest: AreaDigest
    kept_reason: str = ""

    @property
    def kept(self) -> bool:
        """True when the file on disk stays the model digest written earlier."""
        return bool(self.kept_reason)


def area_input_hash(data: AreaData) -> str:
    """A short hash of what a digest is written from: the area's features, in order.

    Prefixed, so YAML reads it as a string whatever the hex digits are."""
    features = [
        (f.title, f.section, f.body, f.product.value, [(k.url, k.type.value) for k in f.links])
        for f in data.features
    ]
    return "sha256:" + hashlib.sha256(orjson.dumps(features)).hexdigest()[:16]


def model_written(digest: AreaDigest) -> bool:
    """True for a digest a model wrote (in whole or in part)."""
    return digest.status in MODEL_STATUSES and digest.backend not in _NOT_A_MODEL


def keep_decision(
    new: AreaDigest, existing: AreaDigest | None, *, overwrite: bool = False
) -> KeepDecision:
    """Write ``new``, unless it is no model's work and ``existing`` is: then keep ``existing``
    (marked stale when it was written from other area data than ``new``)."""
    if overwrite or existing is None or model_written(new) or not model_written(existing):
        return KeepDecision(new)
    if new.status is DigestStatus.EMPTY:
        return KeepDecision(new)  # the release no longer has features in this area
    compared = bool(existing.input_hash and new.input_hash)
    stale = existing.input_hash != new.input_hash if compared else existing.stale
    kept = replace(existing, stale=stale)
    return KeepDecision(kept, _reason(new, kept))


def _reason(new: AreaDigest, kept: AreaDigest) -> str:
    why = new.reason or f"this run's digest is a {new.status.value}"
    when = f" of {kept.generated_at[:10]}" if kept.generated_at else ""
    stale = "; the area data has changed since (marked stale)" if kept.stale else ""
    return f"kept the model digest{when}: no model digest this run ({why}){stale}"[:500]
