"""Resource-aware concurrency: the limit steps down under pressure and back up after."""

import pytest

from webplatform_digest.llm.pressure import ResourceGovernor, next_limit, system_pressure


@pytest.mark.parametrize(
    ("current", "pressured", "expected"),
    [(8, True, 4), (4, True, 2), (2, True, 2), (2, False, 3), (8, False, 8)],
)
def test_next_limit_halves_to_the_floor_and_grows_by_one(
    current: int, pressured: bool, expected: int
) -> None:
    """Maximum 8, floor 2."""
    assert next_limit(current, 8, 2, pressured) == expected


def test_a_floor_above_the_maximum_is_clamped() -> None:
    """Never above the configured maximum, never below 1."""
    assert next_limit(4, 4, 10, True) == 4
    assert next_limit(1, 4, 0, True) == 1


class Slots:
    """Stands in for the capacity limiter."""

    def __init__(self) -> None:
        self.total_tokens: float = 4


def test_samples_are_rate_limited_and_memory_pressure_counts_too() -> None:
    """One sample per interval; memory ≥ threshold is pressure as well."""
    now = [0.0]
    readings = [(10.0, 95.0), (10.0, 10.0)]
    changes: list[float] = []
    slots = Slots()
    governor = ResourceGovernor(
        enabled=True,
        maximum=4,
        floor=1,
        cpu_high=90.0,
        memory_high=90.0,
        clock=lambda: now[0],
        probe=lambda: readings.pop(0),
    )
    governor.adjust(slots, lambda: changes.append(slots.total_tokens))
    governor.adjust(slots, lambda: changes.append(slots.total_tokens))
    now[0] = 1.0
    governor.adjust(slots, lambda: changes.append(slots.total_tokens))
    assert changes == [2, 3]


def test_the_system_probe_reports_percentages() -> None:
    """psutil gives two numbers in 0..100."""
    cpu, memory = system_pressure()
    assert 0.0 <= cpu <= 100.0
    assert 0.0 <= memory <= 100.0
