"""The focus-area catalogue format: YAML documents → validated ``FocusArea`` values (pure).

One area per YAML document (see docs/focus-areas.md). Layers are applied in order: the shipped
defaults, then a workspace's ``focus_areas/`` files. A later document with an id seen before
is merged key by key over the earlier one (so an override can change just ``keywords``);
``enabled: false`` removes the area. Every problem raises ``ConfigError`` naming the file.
"""

import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

import yaml

from webplatform_digest.errors import ConfigError, InputError
from webplatform_digest.models import FocusArea, normalise_area_id

OTHER_AREA = "other"
REQUIRED_KEYS = ("id", "name", "name_zh", "description")
LIST_KEYS = ("heading_patterns", "aliases", "keywords")
ALLOWED_KEYS = frozenset({*REQUIRED_KEYS, *LIST_KEYS, "priority", "multi_tag", "enabled"})
MIN_PRIORITY, MAX_PRIORITY = 0, 1000
MAX_LIST_ITEMS = 500
MAX_TEXT = 2000

#: used when a catalogue has no ``other`` area: the fallback must always exist
DEFAULT_OTHER = FocusArea(
    id=OTHER_AREA,
    name="Other changes",
    name_zh="其他变更",
    description="Features that fit no other focus area.",
    heading_patterns=("miscellaneous", "other"),
    priority=MAX_PRIORITY,
    multi_tag=False,
)

Document = dict[str, Any]
# libyaml's safe loader when available (same results, several times faster)
_FastLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_FastLoader):
    """The safe loader, refusing a key given twice (YAML would keep the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def areas_from_layers(layers: Iterable[Mapping[str, str]]) -> tuple[FocusArea, ...]:
    """Validated areas from layers of ``file name → YAML text`` (later layers override).

    Raises:
        ConfigError: a document is malformed (the message names the file and the problem).
    """
    merged: dict[str, tuple[str, Document]] = {}
    for layer in layers:
        seen_in_layer: dict[str, str] = {}
        for name, text in sorted(layer.items()):
            document = load_document(name, text)
            area_id = _area_id(name, document)
            if area_id in seen_in_layer:
                raise ConfigError(
                    f"focus area file {name}: id {area_id!r} is already defined "
                    f"in {seen_in_layer[area_id]}"
                )
            seen_in_layer[area_id] = name
            base = merged[area_id][1] if area_id in merged else {}
            merged[area_id] = (name, {**base, **document})
    areas = [
        build_area(name, document)
        for name, document in merged.values()
        if _flag(name, document, "enabled")
    ]
    if not any(area.id == OTHER_AREA for area in areas):
        areas.append(DEFAULT_OTHER)
    return tuple(sorted(areas, key=lambda area: (area.priority, area.id)))


def load_document(name: str, text: str) -> Document:
    """Parse one YAML document into a mapping with only known keys.

    Raises:
        ConfigError: YAML syntax error, not a mapping, or an unknown key.
    """
    try:
        document = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"focus area file {name}: {problem}{where}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"focus area file {name}: expected a mapping with id, name, ...")
    document = dict(cast(Document, document))  # YAML mappings come back untyped
    unknown = sorted(str(key) for key in document if key not in ALLOWED_KEYS)
    if unknown:
        allowed = ", ".join(sorted(ALLOWED_KEYS))
        raise ConfigError(
            f"focus area file {name}: unknown key(s) {', '.join(unknown)}; allowed: {allowed}"
        )
    return document


def _area_id(name: str, document: Document) -> str:
    raw = document.get("id")
    if not isinstance(raw, str):
        raise ConfigError(f"focus area file {name}: 'id' is required and must be a string")
    try:
        return normalise_area_id(raw)
    except InputError as exc:
        raise ConfigError(f"focus area file {name}: {exc}") from None


def build_area(name: str, document: Document) -> FocusArea:
    """One ``FocusArea`` from a merged document.

    Raises:
        ConfigError: a required key is missing or a value has the wrong type or range.
    """
    texts = {key: _text(name, document, key) for key in REQUIRED_KEYS}
    lists = {key: _string_list(name, document, key) for key in LIST_KEYS}
    for pattern in lists["heading_patterns"]:
        _check_pattern(name, pattern)
    return FocusArea(
        id=_area_id(name, document),
        name=texts["name"],
        name_zh=texts["name_zh"],
        description=texts["description"],
        heading_patterns=lists["heading_patterns"],
        aliases=lists["aliases"],
        keywords=lists["keywords"],
        priority=_priority(name, document),
        multi_tag=_flag(name, document, "multi_tag"),
    )


def _text(name: str, document: Document, key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"focus area file {name}: {key!r} is required and must be text")
    if len(value) > MAX_TEXT:
        raise ConfigError(f"focus area file {name}: {key!r} is longer than {MAX_TEXT} characters")
    return " ".join(value.split())


def _string_list(name: str, document: Document, key: str) -> tuple[str, ...]:
    value = document.get(key, [])
    if value is None:
        return ()
    entries = cast("list[object]", value) if isinstance(value, list) else None
    if entries is None or len(entries) > MAX_LIST_ITEMS:
        raise ConfigError(f"focus area file {name}: {key!r} must be a list of strings")
    items: list[str] = []
    for item in entries:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ConfigError(f"focus area file {name}: {key!r} must be a list of strings")
        text = str(item).strip()
        if not text:
            raise ConfigError(f"focus area file {name}: {key!r} contains an empty entry")
        items.append(text)
    return tuple(items)


def _check_pattern(name: str, pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ConfigError(
            f"focus area file {name}: heading pattern {pattern!r} is not a valid regular "
            f"expression ({exc})"
        ) from None


def _priority(name: str, document: Document) -> int:
    value = document.get("priority", 50)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"focus area file {name}: 'priority' must be an integer")
    if not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise ConfigError(
            f"focus area file {name}: 'priority' must be in {MIN_PRIORITY}..{MAX_PRIORITY}"
        )
    return value


def _flag(name: str, document: Document, key: str) -> bool:
    value = document.get(key, True)
    if not isinstance(value, bool):
        raise ConfigError(f"focus area file {name}: {key!r} must be true or false")
    return value
