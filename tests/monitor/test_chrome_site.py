"""SiteClient against a real loopback server: retries, timeouts, size cap, redirects."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.fakes import FakeClock
from tests.site_server import Route, SiteServer, running_site
from webplatform_digest.errors import FetchError, InputError
from webplatform_digest.monitor.chrome_site import (
    USER_AGENT,
    MonitorConfig,
    SiteClient,
    build_http_client,
    check_base_url,
)
from webplatform_digest.retry import RetryPolicy

PAGE = b"<html><body><article><h2>x</h2></article></body></html>"


@pytest.fixture
def site() -> Iterator[SiteServer]:
    """A loopback site, stopped after the test."""
    with running_site() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """One HTTP client, as the process would hold (no proxy from the environment)."""
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


def _client(
    http: httpx.AsyncClient,
    site: SiteServer,
    clock: FakeClock,
    *,
    attempts: int = 3,
    timeout: float = 2.0,
    max_bytes: int = 64 * 1024,
) -> SiteClient:
    config = MonitorConfig(
        base_url=site.base_url,
        timeout=timeout,
        max_bytes=max_bytes,
        retry=RetryPolicy(attempts=attempts, base_delay=0.5, max_delay=4.0, total_timeout=60.0),
    )
    return SiteClient(http, config, clock=clock, sleep=clock.sleep, rand=lambda: 1.0)


async def test_a_page_is_downloaded_with_our_user_agent(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A 200 HTML answer is returned whole and the request names webplatform-digest."""
    site.routes["/release-notes/150"] = Route(body=PAGE)
    page = await _client(http, site, fake_clock).download(f"{site.base_url}/release-notes/150")
    assert page.body == PAGE
    assert page.status == 200
    assert site.requests[0].headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("webplatform-digest/")


async def test_a_missing_page_fails_at_once_as_not_found(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A 404 is final: one request, reason ``not_found``, no backoff."""
    with pytest.raises(FetchError) as caught:
        await _client(http, site, fake_clock).download(f"{site.base_url}/release-notes/999")
    assert caught.value.status == 404
    assert caught.value.reason == "not_found"
    assert len(site.requests) == 1
    assert fake_clock.sleeps == []


async def test_a_server_error_is_retried_with_backoff_then_reported(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A persistent 500 costs exactly ``attempts`` requests, then a FetchError with the status."""
    site.routes["/p"] = Route(body=PAGE, fail_times=10)
    with pytest.raises(FetchError) as caught:
        await _client(http, site, fake_clock, attempts=3).download(f"{site.base_url}/p")
    assert caught.value.status == 500
    assert "gave up after 3 attempts" in str(caught.value)
    assert len(site.requests_to("/p")) == 3
    assert fake_clock.sleeps == [0.5, 1.0]


async def test_a_transient_server_error_recovers_on_retry(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """Two 503s then a page: the page is returned after three requests."""
    site.routes["/p"] = Route(body=PAGE, fail_times=2, fail_status=503)
    page = await _client(http, site, fake_clock, attempts=3).download(f"{site.base_url}/p")
    assert page.body == PAGE
    assert len(site.requests_to("/p")) == 3


async def test_retry_after_from_the_server_sets_the_minimum_delay(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A 429 with ``Retry-After: 3`` waits at least 3 s (capped by max_delay) before retrying."""
    site.routes["/p"] = Route(body=PAGE)
    site.routes["/limited"] = Route(
        body=b"slow down", status=429, headers={"Retry-After": "3"}, content_type="text/plain"
    )
    client = _client(http, site, fake_clock, attempts=2)
    with pytest.raises(FetchError):
        await client.download(f"{site.base_url}/limited")
    assert fake_clock.sleeps == [3.0]


async def test_a_hanging_server_times_out_within_the_attempt_budget(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A server that never answers fails as ``timeout`` after ``attempts`` tiny timeouts."""
    site.routes["/slow"] = Route(hang=True)
    client = _client(http, site, fake_clock, attempts=2, timeout=0.2)
    with pytest.raises(FetchError) as caught:
        await client.download(f"{site.base_url}/slow")
    assert caught.value.reason == "timeout"
    assert len(site.requests_to("/slow")) == 2


async def test_a_body_cut_short_is_retried_and_reported_as_truncated(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A Content-Length larger than the body sent is a truncated download, never a page."""
    site.routes["/cut"] = Route(body=PAGE[:20], declared_length=len(PAGE))
    with pytest.raises(FetchError) as caught:
        await _client(http, site, fake_clock, attempts=2).download(f"{site.base_url}/cut")
    assert caught.value.reason == "truncated"
    assert len(site.requests_to("/cut")) == 2


async def test_a_declared_size_over_the_cap_is_refused_unread(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A Content-Length over ``max_bytes`` fails at once as ``too_large``, without a retry."""
    site.routes["/big"] = Route(body=b"<p>" + b"x" * 5000)
    with pytest.raises(FetchError) as caught:
        await _client(http, site, fake_clock, max_bytes=1024).download(f"{site.base_url}/big")
    assert caught.value.reason == "too_large"
    assert len(site.requests_to("/big")) == 1


async def test_a_streamed_body_over_the_cap_is_abandoned(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A page without Content-Length that keeps streaming is cut off at the cap."""
    site.routes["/endless"] = Route(body=b"<p>" + b"y" * 65536 + b"</p>", repeat=2000)
    client = _client(http, site, fake_clock, max_bytes=256 * 1024)
    with pytest.raises(FetchError) as caught:
        await client.download(f"{site.base_url}/endless")
    assert caught.value.reason == "too_large"
    assert "WEBPLATFORM_FETCH_MAX_BYTES" in str(caught.value)


async def test_a_same_host_redirect_is_followed(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A relative 301 on the same host leads to the page; its final URL is reported."""
    site.routes["/old"] = Route(status=301, headers={"Location": "/new"}, content_type="")
    site.routes["/new"] = Route(body=PAGE)
    page = await _client(http, site, fake_clock).download(f"{site.base_url}/old")
    assert page.body == PAGE
    assert page.url == f"{site.base_url}/new"


async def test_a_redirect_to_another_host_is_refused(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A redirect off-site fails as ``redirect_refused`` and the other host is never asked."""
    with running_site() as other:
        other.routes["/landing"] = Route(body=PAGE)
        target = f"{other.base_url}/landing"
        site.routes["/away"] = Route(status=302, headers={"Location": target}, content_type="")
        with pytest.raises(FetchError) as caught:
            await _client(http, site, fake_clock).download(f"{site.base_url}/away")
        assert caught.value.reason == "redirect_refused"
        assert other.requests == []


async def test_a_redirect_loop_is_cut_off(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """Redirects beyond the limit fail instead of looping."""
    site.routes["/a"] = Route(status=302, headers={"Location": "/b"}, content_type="")
    site.routes["/b"] = Route(status=302, headers={"Location": "/a"}, content_type="")
    with pytest.raises(FetchError) as caught:
        await _client(http, site, fake_clock).download(f"{site.base_url}/a")
    assert caught.value.reason == "redirect_refused"
    assert len(site.requests) == 6


async def test_a_non_html_answer_is_refused(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A JSON or binary body is not a release-note page."""
    site.routes["/data"] = Route(body=b"{}", content_type="application/json")
    with pytest.raises(FetchError) as caught:
        await _client(http, site, fake_clock).download(f"{site.base_url}/data")
    assert caught.value.reason == "not_html"


async def test_an_unreachable_site_fails_as_a_network_error(
    http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A closed loopback port is a network failure after the retries."""
    with running_site() as gone:
        base = gone.base_url
    config = MonitorConfig(base_url=base, retry=RetryPolicy(attempts=2, base_delay=0.1))
    client = SiteClient(http, config, clock=fake_clock, sleep=fake_clock.sleep)
    with pytest.raises(FetchError) as caught:
        await client.download(f"{base}/x")
    assert caught.value.reason == "network"


async def test_exists_reads_only_the_status(
    site: SiteServer, http: httpx.AsyncClient, fake_clock: FakeClock
) -> None:
    """A probe answers from the status line; a 404 raises ``not_found`` after one request."""
    site.routes["/here"] = Route(body=PAGE)
    client = _client(http, site, fake_clock)
    assert (await client.exists(f"{site.base_url}/here")).status == 200
    with pytest.raises(FetchError) as caught:
        await client.exists(f"{site.base_url}/missing")
    assert caught.value.reason == "not_found"


def test_base_urls_must_be_plain_http_site_addresses() -> None:
    """Credentials, queries, fragments and other schemes are refused; a trailing slash goes."""
    assert check_base_url("https://developer.chrome.com/") == "https://developer.chrome.com"
    assert check_base_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080"
    for bad in ("ftp://x", "https://user:pw@x", "https://x/?q=1", "https://x/#f", "x", ""):
        with pytest.raises(InputError):
            check_base_url(bad)


async def test_the_process_client_does_not_follow_redirects_itself() -> None:
    """Redirects are the SiteClient's decision, so the shared client must leave them alone."""
    client = build_http_client(MonitorConfig())
    async with client:
        assert client.follow_redirects is False
        assert client.headers["user-agent"] == USER_AGENT
