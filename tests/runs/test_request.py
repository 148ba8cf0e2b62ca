"""Validating run arguments and loading the plan: clear errors, nothing written."""

from typing import Any

import pytest

from tests.digest_samples import sample_subjects, subject, write_processed
from webplatform_digest.areas.classify import FocusAreaManager
from webplatform_digest.digest.prompts import RequestOptions
from webplatform_digest.errors import (
    InputError,
    InvalidVersionError,
    NotFoundError,
    UnknownAreaError,
)
from webplatform_digest.models import Channel, Language
from webplatform_digest.runs.request import RunRequest, build_plan, parse_run_request
from webplatform_digest.storage.area_store import AreaStore, load_catalog
from webplatform_digest.storage.workspace import Workspace


@pytest.fixture(scope="module")
def catalog() -> FocusAreaManager:
    """The shipped focus-area catalogue."""
    return load_catalog()


def _parse(catalog: FocusAreaManager, **kw: Any) -> RunRequest:
    args: dict[str, Any] = {"version": 144} | kw
    return parse_run_request(catalog=catalog, **args)


def test_defaults_are_stable_bilingual_all_areas(catalog: FocusAreaManager) -> None:
    """No areas means every area with data; languages en + zh."""
    request = _parse(catalog, version="144")
    assert request.version == 144
    assert request.channel is Channel.STABLE
    assert request.areas is None
    assert request.languages == (Language.EN, Language.ZH)
    assert request.to_json()["languages"] == ["en", "zh"]


def test_areas_accept_lists_comma_strings_aliases_and_drop_duplicates(
    catalog: FocusAreaManager,
) -> None:
    """``css,javascript`` and a list give the same ids; duplicates collapse."""
    assert _parse(catalog, focus_areas="css, javascript,css").areas == ("css", "javascript")
    assert _parse(catalog, focus_areas=["JavaScript", "css"]).areas == ("javascript", "css")


def test_an_unknown_area_names_the_valid_choices(catalog: FocusAreaManager) -> None:
    """The error lists the catalogue."""
    with pytest.raises(UnknownAreaError) as caught:
        _parse(catalog, focus_areas=["css", "blink-internals"])
    assert "unknown focus area 'blink-internals'" in str(caught.value)
    assert "css, html-dom, javascript" in str(caught.value)


def test_ten_thousand_areas_are_rejected_before_any_lookup(catalog: FocusAreaManager) -> None:
    """An absurd list is one clear error."""
    with pytest.raises(InputError, match=r"too many focus areas \(10000\); the catalogue has 27"):
        _parse(catalog, focus_areas=["css"] * 10_000)


@pytest.mark.parametrize(
    ("kw", "error", "text"),
    [
        ({"version": "14x"}, InvalidVersionError, "Chrome milestone number"),
        ({"version": 0}, InvalidVersionError, "out of range"),
        ({"version": True}, InvalidVersionError, "milestone"),
        ({"channel": "canary"}, InvalidVersionError, "stable, beta"),
        ({"language": "fr"}, InputError, "zh, zh-TW, bilingual"),
        ({"focus_areas": []}, InputError, "no focus area given"),
        ({"focus_areas": [3]}, InputError, "non-empty area ids"),
        ({"focus_areas": 7}, InputError, "list of area ids"),
        ({"focus_areas": ["x" * 5000]}, InputError, "too long"),
    ],
)
def test_malformed_arguments_are_clear_input_errors(
    catalog: FocusAreaManager, kw: dict[str, object], error: type[Exception], text: str
) -> None:
    """Each malformed argument gets a message that says what is accepted."""
    with pytest.raises(error, match=text):
        _parse(catalog, **kw)


def test_a_release_never_processed_says_to_run_process_first(
    catalog: FocusAreaManager, workspace: Workspace
) -> None:
    """No area data for the release: NotFoundError with the command to run."""
    with pytest.raises(NotFoundError, match="run: webplatform-digest process --version 150"):
        build_plan(
            _parse(catalog, version=150),
            run_id="r",
            store=AreaStore(workspace),
            catalog=catalog,
            backend="offline",
            options=RequestOptions(),
        )
    assert list(workspace.root.iterdir()) == []


def test_the_plan_takes_every_area_with_data_in_catalogue_order(
    catalog: FocusAreaManager, workspace: Workspace
) -> None:
    """Default areas come from the files; a requested area without a file is empty."""
    write_processed(workspace, (*sample_subjects(), subject("security-privacy", ["Isolation"])))
    store = AreaStore(workspace)
    default = build_plan(
        _parse(catalog), run_id="r", store=store, catalog=catalog, backend="b",
        options=RequestOptions(),
    )  # fmt: skip
    assert [s.data.area for s in default.subjects] == ["css", "javascript", "security-privacy"]
    assert default.subjects[0].name == "CSS and UI"
    assert default.subjects[0].name_zh == "CSS 与界面"
    assert len(default.subjects[1].data.features) == 2
    chosen = build_plan(
        _parse(catalog, focus_areas="graphics-webgpu,css", language="zh"),
        run_id="r", store=store, catalog=catalog, backend="b", options=RequestOptions(),
    )  # fmt: skip
    assert [s.data.area for s in chosen.subjects] == ["graphics-webgpu", "css"]
    assert chosen.subjects[0].data.features == ()
    assert chosen.languages == (Language.ZH,)
