"""Round batching of the input-required flow (pure arithmetic on ``RunLimits``)."""

import pytest

from webplatform_digest.digest.state import ITEM_ROUNDS, RunLimits


def test_batches_stay_at_max_concurrency_while_the_round_budget_allows() -> None:
    """Few items: the client gets at most max_concurrency requests per round."""
    limits = RunLimits(max_concurrency=4, round_budget=10)
    assert limits.round_batch(1, 8) == 4


def test_batches_grow_when_the_remaining_rounds_could_not_absorb_the_items() -> None:
    """32 items, 7 spare rounds: 5 per round instead of 4."""
    limits = RunLimits(max_concurrency=4, round_budget=10)
    assert limits.round_batch(1, 32) == 5


def test_the_last_rounds_release_everything_that_is_ready() -> None:
    """When only the rounds an item may still need are left, nothing is held back."""
    limits = RunLimits(max_concurrency=4, round_budget=10)
    last_paced_round = limits.round_budget - ITEM_ROUNDS + 1
    assert limits.round_batch(last_paced_round, 30) == 30
    assert limits.round_batch(limits.round_budget, 0) == 1


@pytest.mark.parametrize("items", [1, 10, 40, 100, 400])
def test_paced_rounds_always_leave_room_for_retries(items: int) -> None:
    """Issuing round_batch per round clears ``items`` first attempts before the slack rounds."""
    limits = RunLimits(max_concurrency=4, round_budget=10)
    remaining, round_number = items, 1
    while remaining > 0:
        remaining -= min(remaining, limits.round_batch(round_number, remaining))
        round_number += 1
    assert round_number - 1 <= limits.round_budget - ITEM_ROUNDS + 1
