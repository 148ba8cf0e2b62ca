"""The start-up GC tweak shared by every server entry point."""

import gc
from collections.abc import Iterator

import pytest

from webplatform_digest.startup import keep_loaded, long_lived_startup


@pytest.fixture
def collector() -> Iterator[None]:
    """Leave the test process's collector as it was."""
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector")
def test_start_up_runs_without_the_collector_and_freezes_what_it_loaded() -> None:
    """Inside the block the collector is off; after it, it is on and start-up's objects are
    frozen (never scanned again)."""
    gc.unfreeze()
    with long_lived_startup():
        assert not gc.isenabled()
        loaded = [object() for _ in range(100)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(loaded)


@pytest.mark.usefixtures("collector")
def test_a_failing_start_up_still_turns_the_collector_back_on() -> None:
    """An import error during start-up does not leave the process without a collector."""
    with pytest.raises(ImportError), long_lived_startup():
        raise ImportError("no such module")
    assert gc.isenabled()


@pytest.mark.usefixtures("collector")
def test_what_is_loaded_after_start_up_is_kept_out_of_collections_too() -> None:
    """``keep_loaded`` freezes objects made after start-up (a tool's module on first use), so
    a full collection does not scan them."""
    gc.unfreeze()
    loaded = [object() for _ in range(100)]
    keep_loaded()
    assert gc.get_freeze_count() >= len(loaded)
