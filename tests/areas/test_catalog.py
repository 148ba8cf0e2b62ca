"""Validation of focus-area catalogue files."""

import pytest

from webplatform_digest.areas.catalog import OTHER_AREA, areas_from_layers
from webplatform_digest.errors import ConfigError

VALID = """
id: css
name: CSS
name_zh: CSS
description: Styling.
heading_patterns: ['css( and ui)?']
keywords: [CSS]
priority: 10
"""


def _one(text: str) -> None:
    areas_from_layers([{"bad.yaml": text}])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("id: [unclosed", "line", id="yaml-syntax"),
        pytest.param("- just\n- a list\n", "expected a mapping", id="not-a-mapping"),
        pytest.param(VALID + "colour: red\n", "unknown key(s) colour", id="unknown-key"),
        pytest.param(VALID.replace("id: css", "id: CSS Area"), "not valid", id="bad-id"),
        pytest.param(VALID.replace("id: css", "id: 12"), "'id' is required", id="id-not-text"),
        pytest.param(VALID.replace("name_zh: CSS\n", ""), "'name_zh' is required", id="no-zh"),
        pytest.param(VALID.replace("['css( and ui)?']", "['css(']"), "regular", id="regex"),
        pytest.param(VALID.replace("priority: 10", "priority: high"), "integer", id="priority"),
        pytest.param(VALID.replace("priority: 10", "priority: 5000"), "0..1000", id="range"),
        pytest.param(VALID.replace("keywords: [CSS]", "keywords: CSS"), "list", id="not-list"),
        pytest.param(VALID.replace("keywords: [CSS]", "keywords: ['']"), "empty", id="empty"),
        pytest.param(VALID + "multi_tag: maybe\n", "true or false", id="flag"),
        pytest.param(VALID + "enabled: 3\n", "true or false", id="enabled"),
        pytest.param(VALID + "priority: 20\n", "duplicate key 'priority' (line 9)", id="twice"),
    ],
)
def test_a_bad_catalogue_file_is_a_config_error_naming_file_and_problem(
    text: str, problem: str
) -> None:
    """Every malformed document is refused with the file name and what is wrong."""
    with pytest.raises(ConfigError) as caught:
        _one(text)
    assert "bad.yaml" in str(caught.value)
    assert problem in str(caught.value)


def test_duplicate_ids_in_one_layer_name_both_files() -> None:
    """Two files defining the same id in the same directory are refused."""
    with pytest.raises(ConfigError, match=r"b\.yaml: id 'css' is already defined in a\.yaml"):
        areas_from_layers([{"a.yaml": VALID, "b.yaml": VALID}])


def test_a_later_layer_overrides_keys_and_extends_the_catalogue() -> None:
    """An override with the same id changes only the keys it sets; a new id adds an area."""
    override = "id: css\nkeywords: [grid]\n"
    extra = VALID.replace("id: css", "id: extra").replace("priority: 10", "priority: 5")
    areas = areas_from_layers([{"css.yaml": VALID}, {"css.yaml": override, "x.yaml": extra}])
    by_id = {area.id: area for area in areas}
    assert [area.id for area in areas] == ["extra", "css", OTHER_AREA]
    assert by_id["css"].keywords == ("grid",)
    assert by_id["css"].heading_patterns == ("css( and ui)?",)


def test_enabled_false_removes_an_area() -> None:
    """An override can switch a shipped area off."""
    areas = areas_from_layers([{"css.yaml": VALID}, {"off.yaml": "id: css\nenabled: false\n"}])
    assert [area.id for area in areas] == [OTHER_AREA]


def test_the_other_area_always_exists() -> None:
    """A catalogue without ``other`` gets the built-in fallback area."""
    areas = areas_from_layers([{"css.yaml": VALID}])
    assert areas[-1].id == OTHER_AREA


def test_text_values_are_whitespace_normalised() -> None:
    """Folded multi-line descriptions become one line."""
    text = VALID.replace("description: Styling.", "description: |\n  Two\n  lines.")
    (area, _) = areas_from_layers([{"css.yaml": text}])
    assert area.description == "Two lines."
