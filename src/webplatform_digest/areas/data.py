"""Per-area YAML documents (pure): build ``AreaData``, dump it, load it back.

```yaml
schema: 1
version: 144
channel: stable
area: css
source_hash: sha256:…          # of the release-note bytes this was built from
statistics: {feature_count: 10, link_count: 28, links_by_type: {spec: 9, …}}
features:
- title: CSS `caret-shape` property
  section: CSS and UI
  product: chrome
  line: 41
  content: |-
    The caret's shape …
  links:
  - {url: 'https://…', type: spec, title: Spec}
```
Statistics are derived: the loader recomputes them from the features. Dumping is
deterministic (same data → same bytes), which is what makes re-processing write nothing.
"""

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import yaml

from webplatform_digest.areas.classify import Classification
from webplatform_digest.errors import InputError, ParseError
from webplatform_digest.models import (
    AreaData,
    AreaStatistics,
    Feature,
    Link,
    LinkType,
    Product,
    ReleaseKey,
    normalise_area_id,
    parse_channel,
    parse_version,
)

SCHEMA = 1
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
_E = TypeVar("_E", Product, LinkType)
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_UNICODE_BREAKS = ("\x85", "\u2028", "\u2029")


# libyaml's safe dumper when available: same bytes as the pure-Python one, several times faster
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_SafeDumper):
    """The safe dumper, writing multi-line text as literal blocks so files stay readable."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(ch in value for ch in _UNICODE_BREAKS):
        style: str | None = '"'  # PyYAML writes these raw in other styles and misreads them
    else:
        style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def source_digest(*parts: bytes) -> str:
    """``sha256:<hex>`` over the given inputs (each length-prefixed, so order and split count)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return "sha256:" + digest.hexdigest()


def area_statistics(features: Iterable[Feature]) -> AreaStatistics:
    """Feature count, link count and links per type (sorted by type)."""
    features = tuple(features)
    by_type = Counter(link.type.value for feature in features for link in feature.links)
    return AreaStatistics(
        feature_count=len(features),
        link_count=sum(by_type.values()),
        links_by_type=tuple(sorted(by_type.items())),
    )


def build_area_data(
    key: ReleaseKey, area: str, features: Sequence[Feature], source_hash: str = ""
) -> AreaData:
    """The per-area document of one release."""
    return AreaData(
        version=key.version,
        channel=key.channel,
        area=area,
        features=tuple(features),
        statistics=area_statistics(features),
        source_hash=source_hash,
    )


def area_data_set(
    classification: Classification, key: ReleaseKey, source_hash: str = ""
) -> dict[str, AreaData]:
    """One ``AreaData`` per area that has features, in catalogue order."""
    return {
        area: build_area_data(key, area, features, source_hash)
        for area, features in classification.by_area
    }


def dump_area_data(data: AreaData) -> bytes:
    """Serialise with the safe YAML dumper (UTF-8, deterministic)."""
    text = yaml.dump(
        _document(data),
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        width=100,
        default_flow_style=False,
    )
    return text.encode("utf-8")


def _document(data: AreaData) -> dict[str, Any]:
    stats = data.statistics
    return {
        "schema": SCHEMA,
        "version": data.version,
        "channel": data.channel.value,
        "area": data.area,
        "source_hash": data.source_hash,
        "statistics": {
            "feature_count": stats.feature_count,
            "link_count": stats.link_count,
            "links_by_type": dict(stats.links_by_type),
        },
        "features": [_feature_document(feature) for feature in data.features],
    }


def _feature_document(feature: Feature) -> dict[str, Any]:
    return {
        "title": feature.title,
        "section": feature.section,
        "product": feature.product.value,
        "line": feature.line,
        "content": feature.body,
        "links": [
            {"url": link.url, "type": link.type.value, "title": link.title}
            for link in feature.links
        ],
    }


def load_area_data(data: bytes, *, source: str) -> AreaData:
    """Parse and validate a per-area YAML document.

    Raises:
        ParseError: not UTF-8, not YAML, or not the schema above (names ``source`` and field).
    """
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ParseError(f"area data larger than {MAX_DOCUMENT_BYTES} bytes", source=source)
    try:
        document = plain_document(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ParseError("not valid UTF-8", source=source, line=line) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or "not a YAML document"
        raise ParseError(f"invalid YAML: {problem}", source=source, line=line) from None
    try:
        return _area_data(document)
    except (InputError, ValueError, TypeError) as exc:
        raise ParseError(f"invalid area data: {exc}", source=source) from None


class _Unusual(Exception):
    """A node the plain conversion leaves to PyYAML's own constructor."""


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
#: marks a node being converted, so a node inside itself is noticed
_BUSY = object()


class _PlainLoader(_Loader):
    """The safe loader, resolving plain scalars that start with a letter no implicit type
    starts with (most text) without trying the implicit types' patterns; the safe loader has
    no path resolvers, so descending and ascending have nothing to do."""

    _TYPED_STARTS = frozenset(_Loader.yaml_implicit_resolvers)

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode and implicit[0] and value and value[0] not in self._TYPED_STARTS:
            return _STR
        return super().resolve(kind, value, implicit)

    def descend_resolver(self, current_node: yaml.Node | None, current_index: object) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


def plain_document(text: str) -> object:
    """A YAML document as Python values, built straight from libyaml's node tree.

    The values are those of ``yaml.load`` with the safe loader. Area documents hold only text,
    decimal integers, lists and mappings, and PyYAML's generic constructor spends more time per
    node than parsing does, so those nodes are converted here; a document with anything else
    (other tags, merge keys, self-reference, unhashable keys) is loaded by PyYAML itself.

    Raises:
        yaml.YAMLError: not a single YAML document.
    """
    loader = _PlainLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    if node is None:
        return None
    try:
        return _plain(node, {})
    except (_Unusual, RecursionError):
        return yaml.load(text, Loader=_Loader)


def _plain(node: yaml.Node, done: dict[int, object]) -> object:
    tag = node.tag
    if tag == _STR:
        return node.value
    key = id(node)
    if key in done:  # an alias: the same object, as PyYAML gives it
        if done[key] is _BUSY:
            raise _Unusual  # a document that contains itself
        return done[key]
    done[key] = _BUSY
    value = _plain_value(node, tag, done)
    done[key] = value
    return value


def _plain_value(node: yaml.Node, tag: str, done: dict[int, object]) -> object:
    if isinstance(node, yaml.MappingNode) and tag == "tag:yaml.org,2002:map":
        mapping: dict[object, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Unusual  # a list or mapping as a key: PyYAML's error
            mapping[_plain(key_node, done)] = _plain(value_node, done)
        return mapping
    if isinstance(node, yaml.SequenceNode) and tag == "tag:yaml.org,2002:seq":
        return [_plain(item, done) for item in node.value]
    if tag == _INT and _DECIMAL.fullmatch(node.value):
        return int(node.value)
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return node.value.lower() in ("yes", "true", "on")
    raise _Unusual


def _area_data(document: object) -> AreaData:
    root = _mapping(document, "document")
    features = tuple(
        _feature(item, f"features[{index}]")
        for index, item in enumerate(_list(root.get("features"), "features"))
    )
    area = normalise_area_id(_string(root.get("area"), "area"))
    hash_value = root.get("source_hash", "")
    return AreaData(
        version=parse_version(root.get("version")),
        channel=parse_channel(root.get("channel")),
        area=area,
        features=features,
        statistics=area_statistics(features),
        source_hash=_string(hash_value, "source_hash", allow_empty=True),
    )


def _feature(item: object, where: str) -> Feature:
    entry = _mapping(item, where)
    links = tuple(
        _link(link, f"{where}.links[{index}]")
        for index, link in enumerate(_list(entry.get("links", []), f"{where}.links"))
    )
    line = entry.get("line", 0)
    if isinstance(line, bool) or not isinstance(line, int) or line < 0:
        raise ValueError(f"{where}.line must be a non-negative integer")
    return Feature(
        title=_string(entry.get("title"), f"{where}.title"),
        section=_string(entry.get("section"), f"{where}.section", allow_empty=True),
        body=_string(entry.get("content", ""), f"{where}.content", allow_empty=True),
        links=links,
        product=_enum(Product, entry.get("product", "chrome"), f"{where}.product"),
        line=line,
    )


def _link(item: object, where: str) -> Link:
    entry = _mapping(item, where)
    return Link(
        url=_string(entry.get("url"), f"{where}.url"),
        type=_enum(LinkType, entry.get("type", "other"), f"{where}.type"),
        title=_string(entry.get("title", ""), f"{where}.title", allow_empty=True),
    )


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a mapping")
    return value  # pyright: ignore[reportUnknownVariableType]


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where} must be a list")
    return value  # pyright: ignore[reportUnknownVariableType]


def _string(value: object, where: str, *, allow_empty: bool = False) -> str:
    if value is None and allow_empty:
        return ""
    if not isinstance(value, str) or (not value and not allow_empty):
        raise ValueError(f"{where} must be {'text' if allow_empty else 'non-empty text'}")
    return value


def _enum(kind: type[_E], value: object, where: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        valid = ", ".join(member.value for member in kind)
        raise ValueError(f"{where}: {str(value)[:40]!r} is not one of {valid}") from None
