"""HTTP access to the Chrome developer site: bounded, retried, confined to one host.

Every request made through ``SiteClient``:

* goes to the configured base URL only: same-host redirects are followed (at most
  ``max_redirects``); a redirect to another host or scheme is refused;
* is bounded in time (``timeout`` per attempt, headers and body together) and in size (the body
  is streamed and abandoned past ``max_bytes``; a larger ``Content-Length`` is refused unread);
* is retried through ``RetryPolicy`` on timeouts, network errors, truncated bodies, 429 and 5xx;
  a 404, any other 4xx, an oversized or non-HTML page, or a refused redirect fails at once.

The ``httpx.AsyncClient`` is passed in (one per process); requests carry our User-Agent.
"""

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from webplatform_digest import __version__
from webplatform_digest.clock import Clock, monotonic
from webplatform_digest.errors import FetchError, InputError
from webplatform_digest.retry import RetryPolicy

log = logging.getLogger(__name__)

USER_AGENT = f"webplatform-digest/{__version__}"
_HEADERS = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml;q=0.9"}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

Sleep = Callable[[float], Awaitable[None]]


def check_base_url(value: str) -> str:
    """Validate a site base URL (http(s), a host, no credentials, query or fragment).

    Raises:
        InputError: anything else.
    """
    try:
        parts = urlsplit(value.strip())
        hostname = parts.hostname
    except ValueError:
        hostname = None
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not hostname:
        raise InputError(f"base URL must be http(s)://host[:port], got {value[:80]!r}")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InputError("base URL must not carry credentials, a query or a fragment")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """Where and how the monitor downloads."""

    base_url: str = "https://developer.chrome.com"
    timeout: float = 20.0
    max_bytes: int = 5 * 1024 * 1024
    concurrency: int = 4
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_redirects: int = 5
    #: after a listing's newest version, look this many versions further ahead
    probe_ahead: int = 1


def build_http_client(config: MonitorConfig) -> httpx.AsyncClient:
    """The process-wide HTTP client for the monitor (redirects are handled by ``SiteClient``)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(config.timeout),
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        limits=httpx.Limits(max_connections=max(4, 2 * config.concurrency)),
    )


@dataclass(frozen=True, slots=True)
class SitePage:
    """A downloaded page: final URL (after same-host redirects), status and body."""

    url: str
    status: int
    body: bytes
    encoding: str = "utf-8"

    @property
    def text(self) -> str:
        """The body decoded with the declared charset (UTF-8 when unknown)."""
        try:
            return self.body.decode(self.encoding, errors="replace")
        except LookupError:  # an unknown charset name in the Content-Type header
            return self.body.decode("utf-8", errors="replace")


class _TransientFetchError(FetchError):
    """A failure worth another attempt; ``retry_after`` from the server when it gave one."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, reason=reason)
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: our own backoff applies
    return seconds if 0 <= seconds < 86400 else None


class SiteClient:
    """Downloads pages of the one configured site (see the module docstring for the rules)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        config: MonitorConfig,
        *,
        clock: Clock = monotonic,
        sleep: Sleep = anyio.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._client = client
        self._config = config
        self._clock = clock
        self._sleep = sleep
        self._rand = rand

    @property
    def config(self) -> MonitorConfig:
        """The configuration in use."""
        return self._config

    def url(self, path: str) -> str:
        """Absolute address of a site path."""
        return self._config.base_url + path

    async def download(self, url: str) -> SitePage:
        """Download a page, retrying transient failures within the retry policy.

        Raises:
            FetchError: the page could not be had; ``reason`` says why.
        """
        policy = self._config.retry
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(url, read_body=True)
            except _TransientFetchError as exc:
                delay = policy.backoff(attempt, self._rand, exc.retry_after)
                if not policy.may_retry(attempt, self._clock() - started, delay):
                    tries = f"{attempt} attempt{'s' if attempt > 1 else ''}"
                    message = f"{exc} (gave up after {tries})"
                    raise FetchError(message, status=exc.status, reason=exc.reason) from None
                log.info("retrying %s in %.2fs: %s", url, delay, exc)
                await self._sleep(delay)

    async def exists(self, url: str) -> SitePage:
        """One attempt, headers only: the page if it answers 200 (after same-host redirects).

        Raises:
            FetchError: it does not (``not_found``) or cannot be reached.
        """
        return await self._attempt(url, read_body=False)

    async def _attempt(self, url: str, *, read_body: bool) -> SitePage:
        host = urlsplit(url).netloc
        try:
            with anyio.fail_after(self._config.timeout):
                return await self._follow(url, read_body)
        except (TimeoutError, httpx.TimeoutException):
            message = f"no complete answer from {url} within {self._config.timeout:g}s"
            raise _TransientFetchError(message, reason="timeout") from None
        except httpx.RemoteProtocolError:
            message = f"{host} closed the connection before the page was complete"
            raise _TransientFetchError(message, reason="truncated") from None
        except httpx.TransportError as exc:
            message = f"cannot reach {host}: {type(exc).__name__}"
            raise _TransientFetchError(message, reason="network") from None

    async def _follow(self, url: str, read_body: bool) -> SitePage:
        current = url
        for _ in range(self._config.max_redirects + 1):
            request = self._client.stream("GET", current, headers=_HEADERS, follow_redirects=False)
            async with request as response:
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    current = self._redirect_target(current, location)
                    continue
                return await self._read(response, current, read_body)
        limit = self._config.max_redirects
        raise FetchError(f"more than {limit} redirects from {url}", reason="redirect_refused")

    def _redirect_target(self, current: str, location: str) -> str:
        target = urljoin(current, location.strip())
        base = urlsplit(self._config.base_url)
        parts = urlsplit(target)
        if parts.scheme != base.scheme or parts.netloc.lower() != base.netloc.lower():
            shown = f"{parts.scheme}://{parts.netloc}"[:100]
            raise FetchError(
                f"refused a redirect from {current} to another site ({shown})",
                reason="redirect_refused",
            )
        return target

    async def _read(self, response: httpx.Response, url: str, read_body: bool) -> SitePage:
        status = response.status_code
        if status in (404, 410):
            message = f"{url} was not found (HTTP {status})"
            raise FetchError(message, status=status, reason="not_found")
        if status == 429 or status >= 500:
            retry_after = _retry_after(response.headers.get("retry-after"))
            message = f"HTTP {status} from {url}"
            raise _TransientFetchError(
                message, status=status, reason="http_error", retry_after=retry_after
            )
        if status != 200:
            raise FetchError(f"HTTP {status} from {url}", status=status, reason="http_error")
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media and media not in _HTML_TYPES:
            message = f"{url} is {media[:60]}, not an HTML page"
            raise FetchError(message, status=status, reason="not_html")
        body = await self._body(response, url) if read_body else b""
        return SitePage(url, status, body, response.charset_encoding or "utf-8")

    async def _body(self, response: httpx.Response, url: str) -> bytes:
        cap = self._config.max_bytes
        too_large = f"{url} is larger than the {cap}-byte cap (WEBPLATFORM_FETCH_MAX_BYTES)"
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(too_large, status=response.status_code, reason="too_large")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body.extend(chunk)
            if len(body) > cap:
                raise FetchError(too_large, status=response.status_code, reason="too_large")
        return bytes(body)
