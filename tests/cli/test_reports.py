"""The text reports: the rich-free ``process`` table is rich's table, character for character."""

import io
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table
from rich.text import Text

from webplatform_digest.cli.reports import Row, plain_table, plain_width, print_process_summaries
from webplatform_digest.models import Channel
from webplatform_digest.services.summaries import ProcessSummary

#: printable ASCII, with the characters rich reads as markup or emoji codes among them
_CELL = st.text(alphabet=st.sampled_from([chr(c) for c in range(32, 127)] + [":"] * 8), max_size=40)
_ROWS = st.lists(
    st.tuples(_CELL, _CELL, st.integers(min_value=0, max_value=10**9).map(str)), max_size=6
)


def _rich(title: str, rows: Sequence[Row], width: int) -> str:
    out = io.StringIO()
    table = Table(title=title)
    table.add_column("area")
    table.add_column("name")
    table.add_column("features", justify="right")
    for area, name, count in rows:
        table.add_row(Text(area), Text(name), count)
    Console(file=out, width=width, soft_wrap=True).print(table)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(rows=_ROWS, width=st.integers(min_value=20, max_value=200), version=st.integers(1, 999))
def test_the_plain_table_is_rich_table_whenever_it_is_composed(
    rows: list[Row], width: int, version: int
) -> None:
    """Whenever the table is composed without rich (plain text that fits), rich prints the
    same characters; otherwise it declines."""
    title = f"Chrome {version} (stable)"
    plain = plain_table(title, ("area", "name", "features"), rows, width)
    if plain is not None:
        assert plain == _rich(title, rows, width)


def test_the_plain_table_declines_markup_emoji_codes_and_overflow() -> None:
    """``[b]``, ``:smile:`` and a table wider than the console are left to rich."""
    headers = ("area", "name", "features")
    assert plain_table("t", headers, [("css", "[b]CSS[/b]", "1")], 80) is None
    assert plain_table("t", headers, [("css", ":smile:", "1")], 80) is None
    assert plain_table("t", headers, [("css", "x" * 80, "1")], 80) is None
    assert plain_table("t", headers, [("css", "CSS and UI", "1")], 80) is not None


@pytest.fixture
def unstyled(monkeypatch: pytest.MonkeyPatch) -> None:
    """No variable with which rich styles or sizes its output (the tests set them one by one)."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "JUPYTER_COLUMNS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("unstyled")
def test_rich_styling_variables_send_the_report_to_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """``FORCE_COLOR`` or ``COLUMNS`` change what rich prints, so no plain width is offered."""
    assert plain_width() is not None
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert plain_width() is None
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("COLUMNS", "100")
    assert plain_width() is None


@pytest.mark.usefixtures("unstyled")
@pytest.mark.parametrize("unclassified", [(), ("Sundry",), ("Odd: one",)])
def test_the_process_report_prints_the_same_with_and_without_rich(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    unclassified: tuple[str, ...],
) -> None:
    """The whole report (tables and counts) is the same bytes on both ways of printing it."""
    summary = ProcessSummary(
        version=145,
        channel=Channel.BETA,
        areas=(("css", 10), ("graphics-webgpu", 5)),
        features_total=15,
        links_total=40,
        unclassified=unclassified,
        written=("a", "b"),
        unchanged=("c",),
        webgpu_features=2,
    )
    names = {"css": "CSS and UI", "graphics-webgpu": "Graphics and WebGPU"}
    print_process_summaries((summary, summary), names)
    composed = capsys.readouterr().out
    monkeypatch.setenv("COLUMNS", "80")  # a variable rich reads: the report goes through rich
    print_process_summaries((summary, summary), names)
    assert capsys.readouterr().out == composed
    assert "Chrome 145 (beta)" in composed
