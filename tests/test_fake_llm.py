"""The loopback fake LLM: valid answers, injected errors, hangs, outages, hostile replies."""

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from tests.digest_samples import answer_from_prompt
from tests.fake_llm import (
    HOSTILE_KINDS,
    PASSWD,
    FakeLLM,
    FaultProfile,
    running_fake_llm,
)
from webplatform_digest.digest.repair import repair_english

ENGLISH_PROMPT = (
    "Write a digest with these headings:\n## Caret shapes\n## Float16 arrays\n"
    "<<<RELEASE NOTES\n## Not a heading to cover\nRELEASE NOTES>>>"
)
TRANSLATION_PROMPT = (
    "Translate:\n<<<DIGEST\n## Caret shapes\n\nA change.\n\n- [Bug](https://b.test/1)\nDIGEST>>>"
)


def _body(prompt: str, model: str = "m-1") -> dict[str, Any]:
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": prompt},
        ],
    }


def _post(fake: FakeLLM, prompt: str = ENGLISH_PROMPT, timeout: float = 10.0) -> httpx.Response:
    with httpx.Client(timeout=timeout) as http:
        return http.post(f"{fake.base_url}/chat/completions", json=_body(prompt))


def _text(response: httpx.Response) -> str:
    return response.json()["choices"][0]["message"]["content"]


@pytest.fixture
def fake() -> Iterator[FakeLLM]:
    """A fake with valid replies and no faults."""
    with running_fake_llm() as running:
        yield running


def test_replies_are_valid_digests_computed_from_the_last_message(fake: FakeLLM) -> None:
    """English and translation prompts get the answer_from_prompt reply, model echoed."""
    english = _post(fake, ENGLISH_PROMPT)
    chinese = _post(fake, TRANSLATION_PROMPT)
    assert english.status_code == 200
    assert _text(english) == answer_from_prompt(ENGLISH_PROMPT)
    assert "## Caret shapes" in _text(english)
    assert "## Not a heading" not in _text(english)
    assert _text(chinese) == answer_from_prompt(TRANSLATION_PROMPT)
    assert english.json()["model"] == "m-1"
    assert fake.count == 2
    assert fake.outcomes() == {"ok": 2}


def test_a_request_that_is_not_a_chat_completion_gets_400(fake: FakeLLM) -> None:
    """Wrong path or a body without messages is a client error, recorded as such."""
    with httpx.Client(timeout=5) as http:
        wrong_path = http.post(f"{fake.base_url}/completions", json=_body("x"))
        no_messages = http.post(f"{fake.base_url}/chat/completions", json={"model": "m"})
    assert wrong_path.status_code == 400
    assert no_messages.status_code == 400
    assert fake.outcomes() == {"bad_request": 2}


def test_an_error_rate_of_one_answers_only_injected_error_statuses() -> None:
    """Every answer is one of the error statuses with an OpenAI error body."""
    with running_fake_llm(FaultProfile(error_rate=1.0, error_statuses=(500, 503))) as fake:
        responses = [_post(fake) for _ in range(6)]
    assert {r.status_code for r in responses} <= {500, 503}
    assert all(r.json()["error"]["message"] == "injected failure" for r in responses)
    assert fake.outcomes() == {"error": 6}


def test_the_first_requests_fail_with_the_hiccup_status() -> None:
    """``fail_first=3``: requests 1-3 answer 500, the fourth a valid reply."""
    with running_fake_llm(FaultProfile(fail_first=3, fail_status=500)) as fake:
        statuses = [_post(fake).status_code for _ in range(4)]
    assert statuses == [500, 500, 500, 200]
    assert fake.outcomes() == {"hiccup": 3, "ok": 1}


def test_a_hiccup_window_opens_at_the_first_request_and_closes_after_its_length() -> None:
    """``fail_window``: answers inside the window from the first arrival fail, later ones pass."""
    with running_fake_llm(FaultProfile(fail_window=0.3, fail_status=503)) as fake:
        first = _post(fake)
        opened = fake.exchanges()[0].arrived_at
        time.sleep(max(0.0, opened + 0.35 - time.time()))  # the window's length is the subject
        after = _post(fake)
    assert (first.status_code, after.status_code) == (503, 200)
    assert fake.outcomes() == {"hiccup": 1, "ok": 1}


def test_a_hanging_request_ends_when_the_client_gives_up() -> None:
    """The client times out; the fake notices the disconnect and stops counting it."""
    with running_fake_llm(FaultProfile(hang_rate=1.0)) as fake:
        with pytest.raises(httpx.ReadTimeout):
            _post(fake, timeout=0.2)
        assert fake.wait_for(lambda f: f.in_flight == 0, timeout=10)
        assert fake.outcomes() == {"hang": 1}


def test_the_peak_of_requests_in_flight_is_recorded() -> None:
    """Three requests hanging at once give a peak of three; all are released at stop."""
    fake = FakeLLM(FaultProfile(hang_rate=1.0)).start()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            _post(fake, timeout=30)
        except httpx.HTTPError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        assert fake.wait_for(lambda f: f.in_flight == 3, timeout=10)
    finally:
        fake.stop()
        for thread in threads:
            thread.join(timeout=10)
    assert fake.peak_in_flight == 3
    assert fake.in_flight == 0
    assert len(errors) == 3  # released without an answer: the connection closes


def test_an_outage_fails_answers_inside_its_window_only(fake: FakeLLM) -> None:
    """Before and after the window: 200; inside: the outage status; the window is recorded."""
    before = _post(fake)
    window = fake.start_outage(status=503)
    during = [_post(fake) for _ in range(3)]
    closed = fake.end_outage()
    after = _post(fake)
    assert before.status_code == 200
    assert [r.status_code for r in during] == [503, 503, 503]
    assert after.status_code == 200
    assert fake.outage_failures == 3
    assert closed.start == window.start
    assert closed.end is not None
    assert closed.end >= closed.start
    assert fake.outages == (closed,)
    inside = [e for e in fake.exchanges() if e.outcome == "outage"]
    assert all(closed.contains(e.answered_at or 0.0) for e in inside)


def test_an_outage_fails_requests_already_waiting_for_their_answer() -> None:
    """A request that arrived before the outage but is answered during it fails too."""
    with running_fake_llm(FaultProfile(latency_ms=(30_000, 30_000))) as fake:
        result: list[httpx.Response] = []
        thread = threading.Thread(target=lambda: result.append(_post(fake, timeout=60)))
        thread.start()
        assert fake.wait_for(lambda f: f.count == 1, timeout=10)
        fake.start_outage(status=500)
        thread.join(timeout=10)
        fake.end_outage()
    assert [r.status_code for r in result] == [500]


def test_outage_calls_out_of_order_are_refused(fake: FakeLLM) -> None:
    """Ending an outage that is not on, or starting a second one, is a test bug."""
    with pytest.raises(RuntimeError):
        fake.end_outage()
    fake.start_outage()
    with pytest.raises(RuntimeError):
        fake.start_outage()


def test_hostile_kinds_are_served_in_turn() -> None:
    """Each hostile kind plants its marker; the huge kind sends at least 5 MB."""
    profile = FaultProfile(hostile=HOSTILE_KINDS)
    with running_fake_llm(profile) as fake:
        texts = {kind: _text(_post(fake)) for kind in HOSTILE_KINDS}
    assert "<script>alert('pwned')</script>" in texts["script_tag"]
    assert "`<script>" in texts["script_in_code"]
    assert "](javascript:" in texts["javascript_link"]
    assert "](data:" in texts["data_link"]
    assert "onerror=" in texts["event_handler"]
    assert texts["front_matter"].startswith("---\n")
    assert "{{ site.github.api_key }}" in texts["liquid"]
    assert "{% include" in texts["liquid"]
    assert PASSWD in texts["path_text"]
    assert len(texts["huge"].encode("utf-8")) >= 5 * 1024 * 1024
    for kind in HOSTILE_KINDS[:-1]:  # all but huge keep the valid digest inside
        assert "## Caret shapes" in texts[kind]
    assert [e.outcome for e in fake.exchanges()] == [f"hostile:{k}" for k in HOSTILE_KINDS]


def test_the_same_seed_gives_the_same_fates_and_latencies_stay_in_range() -> None:
    """Fates are drawn from a seeded generator; latencies lie within the configured bounds."""
    profile = FaultProfile(latency_ms=(1.0, 3.0), error_rate=0.3, hang_rate=0.1, seed=7)
    fates = []
    for seed in (7, 7, 8):
        fake = FakeLLM(replace(profile, seed=seed))
        fates.append([fake._draw(fake._state) for _ in range(200)])
        fake._server.server_close()
    assert fates[0] == fates[1]
    assert fates[0] != fates[2]
    kinds = {f.kind for f in fates[0]}
    assert kinds == {"ok", "error", "hang"}
    assert all(0.001 <= f.latency <= 0.003 for f in fates[0])


def test_the_profile_can_change_while_running(fake: FakeLLM) -> None:
    """configure() switches faults on and off between requests."""
    ok = _post(fake)
    fake.configure(error_rate=1.0, error_statuses=(502,))
    failed = _post(fake)
    fake.configure(error_rate=0.0)
    again = _post(fake)
    assert [ok.status_code, failed.status_code, again.status_code] == [200, 502, 200]


def test_a_tag_is_appended_to_every_valid_reply() -> None:
    """Two fakes with different tags give distinguishable, still valid, replies."""
    with running_fake_llm(FaultProfile(tag="来源标记 server-a")) as fake:
        english, chinese = (
            _text(_post(fake, ENGLISH_PROMPT)),
            _text(_post(fake, TRANSLATION_PROMPT)),
        )
    assert english == answer_from_prompt(ENGLISH_PROMPT) + "\n\n来源标记 server-a"
    assert chinese.endswith("\n\n来源标记 server-a")


def test_invalid_profiles_are_refused() -> None:
    """Rates above one, inverted latency bounds and unknown hostile kinds are errors."""
    with pytest.raises(ValueError, match="hang_rate"):
        FaultProfile(error_rate=0.8, hang_rate=0.3)
    with pytest.raises(ValueError, match="latency"):
        FaultProfile(latency_ms=(5.0, 1.0))
    with pytest.raises(ValueError, match="hostile"):
        FaultProfile(hostile=("nope",))


def test_slipped_replies_keep_their_content_and_repair_back_to_the_valid_one() -> None:
    """With ``slips=2`` the reply differs from the valid one; repair restores the English one."""
    titles = ("Caret shapes", "Float16 arrays")
    with running_fake_llm(FaultProfile(slips=2, seed=3)) as fake:
        english = _text(_post(fake, ENGLISH_PROMPT))
        chinese = _text(_post(fake, TRANSLATION_PROMPT))
    valid = answer_from_prompt(ENGLISH_PROMPT)
    assert english != valid
    assert chinese != answer_from_prompt(TRANSLATION_PROMPT)
    assert repair_english(english, titles, set()).markdown == valid
