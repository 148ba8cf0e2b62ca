"""The reply cache: keys, memory and disk layers, TTL, corruption, switching off, re-runs."""

from pathlib import Path

import pytest

from tests.fakes import FakeClock, ScriptedBackend
from tests.llm.support import FAST, ask, of, outcomes
from webplatform_digest.configs import governor_config, reply_cache_config
from webplatform_digest.events import CacheLookup, RecordingHook, Telemetry
from webplatform_digest.llm.cache import CACHE_DIR_NAME, ReplyCache, encode_entry, reply_key
from webplatform_digest.llm.governor import Governor
from webplatform_digest.llm.port import LLMReply, Usage
from webplatform_digest.settings import Settings
from webplatform_digest.storage.workspace import Workspace


def cache_at(
    directory: Path | None, clock: FakeClock, *, wall: float = 5000.0, ttl: float = 100.0
) -> tuple[ReplyCache, RecordingHook]:
    """A cache on ``directory`` with a fixed wall time, and its event recorder."""
    hook = RecordingHook()
    cache = ReplyCache(
        directory, Telemetry((hook,)), ttl=ttl, max_entries=8, clock=clock, wall=lambda: wall
    )
    return cache, hook


def names(directory: Path) -> list[str]:
    """File names in ``directory``."""
    return sorted(p.name for p in directory.iterdir())


def layers(hook: RecordingHook) -> list[str]:
    """The layer of every recorded reply-cache lookup."""
    return [e.layer for e in of(hook, CacheLookup) if e.cache == "reply"]


def test_the_key_depends_on_backend_model_and_the_whole_prompt() -> None:
    """Same inputs → same key; any of backend, model or prompt text changes it."""
    base = reply_key("openai", "gpt-4o-mini", ask("a"))
    assert base == reply_key("openai", "gpt-4o-mini", ask("a"))
    assert len(base) == 64
    assert base != reply_key("sampling", "gpt-4o-mini", ask("a"))
    assert base != reply_key("openai", "llama3", ask("a"))
    assert base != reply_key("openai", "gpt-4o-mini", ask("b"))
    assert base == reply_key("openai", "gpt-4o-mini", ask("a", area="other-area"))


async def test_a_put_reply_is_found_in_memory_then_on_disk_by_a_fresh_cache(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    """Memory hit in the same process; disk hit (promoted to memory) in a new one."""
    reply = LLMReply(text="digest", model="m", usage=Usage(10, 20))
    first, hook1 = cache_at(tmp_path, fake_clock)
    key = reply_key("openai", "m", ask())
    assert await first.get(key) is None
    await first.put(key, reply)
    assert await first.get(key) == LLMReply(
        text="digest", model="m", usage=Usage(10, 20), cached=True
    )
    second, hook2 = cache_at(tmp_path, fake_clock)
    assert (await second.get(key)) == first_hit(reply)
    assert (await second.get(key)) == first_hit(reply)
    assert layers(hook1) == ["miss", "memory"]
    assert layers(hook2) == ["disk", "memory"]
    assert names(tmp_path) == [f"{key}.json"]


def first_hit(reply: LLMReply) -> LLMReply:
    """``reply`` as the cache returns it."""
    return LLMReply(text=reply.text, model=reply.model, usage=reply.usage, cached=True)


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[]", b'{"format": 99, "text": "x"}', b'{"format": 1, "text": 3}'],
)
async def test_corrupt_disk_entries_are_misses(
    tmp_path: Path, fake_clock: FakeClock, content: bytes
) -> None:
    """A truncated or foreign file is ignored, never raised."""
    cache, hook = cache_at(tmp_path, fake_clock)
    key = reply_key("openai", "m", ask())
    (tmp_path / f"{key}.json").write_bytes(content)
    assert await cache.get(key) is None
    assert layers(hook) == ["miss"]


async def test_entries_expire_after_the_ttl_in_memory_and_on_disk(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    """Memory by the monotonic clock, disk by the wall time written into the entry."""
    key = reply_key("openai", "m", ask())
    memory_only, _ = cache_at(None, fake_clock, ttl=100.0)
    await memory_only.put(key, LLMReply(text="old"))
    fake_clock.advance(99.0)
    assert await memory_only.get(key) is not None
    fake_clock.advance(2.0)
    assert await memory_only.get(key) is None
    writer, _ = cache_at(tmp_path, fake_clock, wall=5000.0, ttl=100.0)
    await writer.put(key, LLMReply(text="old"))
    expired, _ = cache_at(tmp_path, fake_clock, wall=5101.0, ttl=100.0)
    assert await expired.get(key) is None
    fresh, _ = cache_at(tmp_path, fake_clock, wall=5099.0, ttl=100.0)
    assert await fresh.get(key) is not None


async def test_memory_is_bounded_and_evicts_least_recently_used(fake_clock: FakeClock) -> None:
    """Eight entries at most in memory."""
    cache, _ = cache_at(None, fake_clock)
    keys = [reply_key("openai", "m", ask(str(i))) for i in range(10)]
    for key in keys:
        await cache.put(key, LLMReply(text=key))
    assert await cache.get(keys[0]) is None
    assert await cache.get(keys[-1]) is not None


async def test_discard_forgets_both_layers(tmp_path: Path, fake_clock: FakeClock) -> None:
    """A reply that failed validation can be dropped."""
    cache, _ = cache_at(tmp_path, fake_clock)
    key = reply_key("openai", "m", ask())
    await cache.put(key, LLMReply(text="bad"))
    cache.discard(key)
    assert await cache.get(key) is None
    assert names(tmp_path) == []


async def test_a_reply_stored_later_is_in_memory_at_once_and_on_disk_after_a_flush(
    tmp_path: Path, fake_clock: FakeClock
) -> None:
    """The governor's write-behind: the same process finds the reply at once; another one
    finds the file once the queued writes are done; a discard after it still wins."""
    cache, hook = cache_at(tmp_path, fake_clock)
    keys = [reply_key("openai", "m", ask(str(i))) for i in range(3)]
    for key in keys:
        cache.store_later(key, LLMReply(text=key))
    assert [(await cache.get(k)) is not None for k in keys] == [True] * 3
    assert layers(hook) == ["memory"] * 3
    cache.discard(keys[0])
    await cache.flush()
    fresh, _ = cache_at(tmp_path, fake_clock)
    assert await fresh.get(keys[0]) is None
    assert [(await fresh.get(k)) == first_hit(LLMReply(text=k)) for k in keys[1:]] == [True] * 2
    assert names(tmp_path) == sorted(f"{k}.json" for k in keys[1:])


def test_entries_on_disk_are_small_json() -> None:
    """One small JSON document per key."""
    data = encode_entry(LLMReply(text="t", model="m"), 1.5)
    assert data.startswith(b"{")
    assert len(data) < 200


def governor_of(settings: Settings, telemetry: Telemetry, clock: FakeClock) -> Governor:
    """A governor with the reply cache the settings configure (as the container builds it)."""
    config = reply_cache_config(settings)
    assert config is not None
    cache = ReplyCache.from_config(config, telemetry, clock=clock)
    return Governor(
        governor_config(settings), telemetry, clock=clock, sleep=clock.sleep, cache=cache
    )


async def test_an_unchanged_rerun_makes_zero_llm_calls(
    settings: Settings, workspace: Workspace, fake_clock: FakeClock
) -> None:
    """Two processes (fresh governors) on one workspace: the second answers from disk."""
    requests = [ask(f"area {i}") for i in range(5)]
    first_backend = ScriptedBackend(script=lambda r: LLMReply(text=r.messages[0].text))
    first = governor_of(settings, Telemetry(), fake_clock)
    for request in requests:
        await first.call(first_backend, request)
    assert len(first_backend.calls) == 5
    assert first.cache is not None
    await first.cache.flush()  # as the first process's exit does
    hook = RecordingHook()
    second = governor_of(settings, Telemetry((hook,)), fake_clock)
    second_backend = ScriptedBackend(script=lambda r: LLMReply(text="must not be asked"))
    replies = [await second.call(second_backend, r) for r in requests]
    assert second_backend.calls == []
    assert [r.text for r in replies] == [f"area {i}" for i in range(5)]
    assert all(r.cached for r in replies)
    assert outcomes(hook) == ["cached"] * 5
    assert len(names(workspace.path(Workspace.monitoring_rel(CACHE_DIR_NAME)))) == 5


async def test_use_cache_false_always_asks_the_backend(
    settings: Settings, fake_clock: FakeClock
) -> None:
    """A caller can bypass the cache (e.g. a retry after a reply failed validation)."""
    governor = governor_of(settings, Telemetry(), fake_clock)
    backend = ScriptedBackend(steps=["one", "two"])
    assert (await governor.call(backend, ask())).text == "one"
    assert (await governor.call(backend, ask(), use_cache=False)).text == "two"
    assert (await governor.call(backend, ask())).text == "two"


async def test_forget_drops_a_cached_reply(settings: Settings, fake_clock: FakeClock) -> None:
    """After ``forget`` the next call asks the backend again."""
    governor = governor_of(settings, Telemetry(), fake_clock)
    backend = ScriptedBackend(steps=["invalid", "valid"])
    await governor.call(backend, ask())
    governor.forget(backend, ask())
    assert (await governor.call(backend, ask())).text == "valid"


async def test_a_governor_without_cache_never_looks_up(fake_clock: FakeClock) -> None:
    """No cache configured → every call reaches the backend."""
    governor = Governor(FAST, Telemetry(), clock=fake_clock, sleep=fake_clock.sleep)
    backend = ScriptedBackend(steps=["a", "b"])
    await governor.call(backend, ask())
    assert (await governor.call(backend, ask())).text == "b"
    assert governor.cache is None
