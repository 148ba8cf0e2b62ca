"""The digest file format: YAML front matter (``yaml.safe_dump``) and a markdown body (pure).

```
---
title: CSS and UI — Chrome 144
version: 144
channel: stable
area: css
language: en
generated_at: '2026-01-13T10:00:00Z'
backend: openai
status: ok
layout: digest
---
<markdown body>
```
``reason``, ``repairs`` (the kinds of format repair applied to the model's reply),
``input_hash`` (of the area data the digest was written from) and ``stale: true`` (a model
digest kept although that data has changed since) appear only when there is something to say.
The writer is the digest run; the readers are the pages generator and the MCP resources.
"""

from typing import Any, cast

import yaml

from webplatform_digest.errors import ParseError
from webplatform_digest.models import AreaDigest, Channel, DigestStatus, Language

_FENCE = "---\n"
# libyaml's safe loader when available: same results, several times faster (the site reads
# every digest on each generation)
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# libyaml's emitter (same safe representer, ~10x faster) when PyYAML was built with it
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def render_digest_file(digest: AreaDigest) -> bytes:
    """Serialise a digest with its front matter. LLM text never reaches the front matter."""
    front: dict[str, Any] = {
        "title": digest.title,
        "version": digest.version,
        "channel": digest.channel.value,
        "area": digest.area,
        "language": digest.language.value,
        "generated_at": digest.generated_at,
        "backend": digest.backend,
        "status": digest.status.value,
        "layout": "digest",
    }
    if digest.reason:
        front["reason"] = digest.reason
    if digest.repairs:
        front["repairs"] = list(digest.repairs)
    if digest.input_hash:
        front["input_hash"] = digest.input_hash
    if digest.stale:
        front["stale"] = True
    head = yaml.dump(front, Dumper=_SafeDumper, allow_unicode=True, sort_keys=False, width=1000)
    body = digest.markdown if digest.markdown.endswith("\n") else digest.markdown + "\n"
    return (_FENCE + head + _FENCE + "\n" + body).encode("utf-8")


def parse_digest_file(data: bytes, *, source: str = "<digest>") -> AreaDigest:
    """Read a digest file back.

    Raises:
        ParseError: no front matter, bad YAML, or a missing/invalid field.
    """
    text = data.decode("utf-8", errors="replace")
    if not text.startswith(_FENCE):
        raise ParseError("digest file has no front matter", source=source, line=1)
    end = text.find("\n" + _FENCE, len(_FENCE) - 1)
    if end < 0:
        raise ParseError("front matter is not closed", source=source, line=1)
    try:
        front = yaml.load(text[len(_FENCE) : end + 1], Loader=_SafeLoader)
    except yaml.YAMLError as exc:
        raise ParseError(f"front matter is not valid YAML: {exc}", source=source, line=1) from None
    if not isinstance(front, dict):
        raise ParseError("front matter is not a mapping", source=source, line=1)
    front = cast("dict[str, Any]", front)  # YAML mappings come back untyped
    body = text[end + 1 + len(_FENCE) :].removeprefix("\n")
    try:
        return AreaDigest(
            area=str(front["area"]),
            version=int(front["version"]),
            channel=Channel(str(front.get("channel", "stable"))),
            language=Language(str(front["language"])),
            markdown=body,
            status=DigestStatus(str(front.get("status", "ok"))),
            backend=str(front.get("backend", "")),
            reason=str(front.get("reason", "")),
            title=str(front.get("title", "")),
            generated_at=str(front.get("generated_at", "")),
            repairs=_repairs(front.get("repairs")),
            input_hash=str(front.get("input_hash", "")),
            stale=front.get("stale") is True,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise ParseError(f"front matter field invalid: {exc}", source=source, line=1) from None


def _repairs(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    items: list[object] = raw  # pyright: ignore[reportUnknownVariableType]
    return tuple(str(kind) for kind in items)
