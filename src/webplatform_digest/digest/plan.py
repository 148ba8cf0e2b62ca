"""What a digest run must produce, and its JSON form (area data included) (pure).

A run snapshot carries its own copy of the area data: a run resumed after a restart translates
exactly what it generated, even if ``process`` rewrote the area files meanwhile.
"""

from dataclasses import dataclass, field
from typing import Any

from webplatform_digest.digest.keep import area_input_hash
from webplatform_digest.digest.prompts import RequestOptions, Subject, digest_title
from webplatform_digest.digest.state import ItemState
from webplatform_digest.models import (
    AreaData,
    AreaDigest,
    AreaStatistics,
    Channel,
    Feature,
    Language,
    Link,
    LinkType,
    Product,
)


@dataclass(frozen=True, slots=True)
class RunPlan:
    """One release, some areas (with their data and names), the requested languages."""

    run_id: str
    version: int
    channel: Channel
    languages: tuple[Language, ...]
    subjects: tuple[Subject, ...]
    backend: str
    options: RequestOptions = field(default_factory=RequestOptions)
    #: replace model digests on disk even where this run only has fallbacks
    overwrite: bool = False
    #: write each translation from the area data beside English (then cross-check) instead of
    #: translating the final English
    parallel: bool = False


def finished_digest(plan: RunPlan, subject: Subject, item: ItemState) -> AreaDigest:
    """The digest a finished item of ``plan`` produced."""
    assert item.status is not None
    return AreaDigest(
        area=item.area,
        version=plan.version,
        channel=plan.channel,
        language=item.language,
        markdown=item.markdown,
        status=item.status,
        backend=item.backend,
        reason=item.reason,
        title=digest_title(subject, item.language),
        repairs=item.repairs,
        input_hash=area_input_hash(subject.data),
    )


def area_to_json(data: AreaData) -> dict[str, Any]:
    """JSON-ready form of one area's data."""
    return {
        "version": data.version,
        "channel": data.channel.value,
        "area": data.area,
        "source_hash": data.source_hash,
        "statistics": {
            "feature_count": data.statistics.feature_count,
            "link_count": data.statistics.link_count,
            "links_by_type": [list(pair) for pair in data.statistics.links_by_type],
        },
        "features": [_feature_to_json(f) for f in data.features],
    }


def _feature_to_json(feature: Feature) -> dict[str, Any]:
    return {
        "title": feature.title,
        "section": feature.section,
        "body": feature.body,
        "product": feature.product.value,
        "line": feature.line,
        "links": [[link.url, link.type.value, link.title] for link in feature.links],
    }


def area_from_json(raw: dict[str, Any]) -> AreaData:
    """Rebuild area data from ``area_to_json`` output (raises KeyError/ValueError if malformed)."""
    stats = raw["statistics"]
    return AreaData(
        version=int(raw["version"]),
        channel=Channel(raw["channel"]),
        area=str(raw["area"]),
        source_hash=str(raw.get("source_hash", "")),
        statistics=AreaStatistics(
            feature_count=int(stats["feature_count"]),
            link_count=int(stats["link_count"]),
            links_by_type=tuple((str(k), int(v)) for k, v in stats["links_by_type"]),
        ),
        features=tuple(_feature_from_json(f) for f in raw["features"]),
    )


def _feature_from_json(raw: dict[str, Any]) -> Feature:
    return Feature(
        title=str(raw["title"]),
        section=str(raw["section"]),
        body=str(raw["body"]),
        product=Product(raw.get("product", "chrome")),
        line=int(raw.get("line", 0)),
        links=tuple(Link(str(u), LinkType(t), str(title)) for u, t, title in raw["links"]),
    )


def plan_to_json(plan: RunPlan) -> dict[str, Any]:
    """JSON-ready form of a run plan."""
    options = plan.options
    return {
        "run_id": plan.run_id,
        "version": plan.version,
        "channel": plan.channel.value,
        "languages": [lang.value for lang in plan.languages],
        "backend": plan.backend,
        "options": {
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "model_preferences": list(options.model_preferences),
        },
        "subjects": [
            {"name": s.name, "name_zh": s.name_zh, "data": area_to_json(s.data)}
            for s in plan.subjects
        ],
        # only when set: plans without it keep their first-stored shape
        **({"overwrite": True} if plan.overwrite else {}),
        # only when set, so the JSON of an ordinary run keeps its shape
        **({"parallel": True} if plan.parallel else {}),
    }


def plan_from_json(raw: dict[str, Any]) -> RunPlan:
    """Rebuild a run plan from ``plan_to_json`` output (raises KeyError/ValueError if malformed)."""
    opts = raw["options"]
    return RunPlan(
        run_id=str(raw["run_id"]),
        version=int(raw["version"]),
        channel=Channel(raw["channel"]),
        languages=tuple(Language(lang) for lang in raw["languages"]),
        backend=str(raw["backend"]),
        options=RequestOptions(
            max_tokens=int(opts["max_tokens"]),
            temperature=float(opts["temperature"]),
            model_preferences=tuple(str(m) for m in opts["model_preferences"]),
            run_id=str(raw["run_id"]),
        ),
        subjects=tuple(
            Subject(area_from_json(s["data"]), str(s["name"]), str(s["name_zh"]))
            for s in raw["subjects"]
        ),
        overwrite=raw.get("overwrite") is True,
        parallel=bool(raw.get("parallel", False)),
    )
