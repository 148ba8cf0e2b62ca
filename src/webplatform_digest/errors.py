"""One error tree for the whole project.

Every error a user can see is a ``WebplatformError``; the CLI prints ``str(error)`` on one line
and exits with ``error.exit_code``, the MCP server turns it into a ``ToolError`` with the same
text. Anything else that escapes is a bug: masked in results, logged with its traceback.

```
WebplatformError
├── ConfigError                 bad setting or focus-area catalogue (fails at start)
├── InputError                  bad argument from a user or client
│   ├── InvalidVersionError     version / channel out of format or range
│   ├── UnknownAreaError        area id not in the catalogue (lists the valid ones)
│   └── UnsafePathError         path escapes the workspace root, NUL, backslash, ...
├── NotFoundError               release notes / area data / digest / run not present
├── ParseError                  release note that cannot be read (file and line)
├── LLMError                    a governed LLM call failed for good
│   ├── CircuitOpenError        breaker open: failed fast without calling the backend
│   ├── LLMTimeoutError         an attempt exceeded its timeout
│   ├── DeadlineExceededError   the run or call deadline passed
│   ├── BackendError            backend answered with an error (status, retryable)
│   │   └── RateLimitedError    HTTP 429: retried after Retry-After, not a breaker failure
│   ├── SamplingRejectedError   the user declined the sampling request (not a failure)
│   ├── SamplingUnavailableError client cannot sample and no other backend fits
│   └── LLMRequiredError        --require-llm, and no model wrote (exit 3)
├── WriteError                  a workspace write failed; the old file is intact
│   └── WorkspaceBusyError      another process holds the workspace lock too long
├── FetchError                  release-monitor download failed or was refused
├── RunStateError               forged, expired or replayed run token; run not resumable
└── RunInterruptedError         SIGINT / SIGTERM stopped a run: kept, resumable (128 + signal)
```
"""

import signal


class WebplatformError(Exception):
    """Base of every error the project raises on purpose."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(WebplatformError):
    """A setting or a focus-area catalogue file is invalid."""

    exit_code = 2


class InputError(WebplatformError):
    """An argument is malformed, out of range or not allowed."""

    exit_code = 2


class InvalidVersionError(InputError):
    """A Chrome version or channel is not in the accepted format."""


class UnknownAreaError(InputError):
    """An area id is not in the catalogue."""

    def __init__(self, area: str, valid: tuple[str, ...]) -> None:
        shown = area if len(area) <= 64 else area[:61] + "..."
        super().__init__(f"unknown focus area {shown!r}; valid areas: {', '.join(valid)}")
        self.area = area
        self.valid = valid


class UnsafePathError(InputError):
    """A path would leave the workspace root or contains forbidden characters."""


class NotFoundError(WebplatformError):
    """A release note, area data file, digest or run does not exist."""

    exit_code = 2


class ParseError(WebplatformError):
    """A release note cannot be parsed; names the file and line."""

    exit_code = 2

    def __init__(self, message: str, *, source: str = "<text>", line: int = 0) -> None:
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}")
        self.source = source
        self.line = line


class LLMError(WebplatformError):
    """A governed LLM call failed after the retry policy gave up."""

    #: whether the governor may retry the call
    retryable: bool = True
    #: whether the circuit breaker counts this as a backend failure
    counts_as_failure: bool = True
    #: telemetry outcome label
    outcome: str = "error"


class CircuitOpenError(LLMError):
    """The breaker is open (or half-open with its probe busy); the backend was not called.

    ``retry_after`` is the rest of the cooldown when the breaker is open (None while a probe
    is in flight); a governor configured to wait for the breaker sleeps that long and tries
    again, otherwise the call fails at once.
    """

    retryable = False
    counts_as_failure = False
    outcome = "rejected_open"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LLMTimeoutError(LLMError):
    """One attempt ran past the per-attempt timeout."""

    outcome = "timeout"


class DeadlineExceededError(LLMError):
    """The call's or the run's overall deadline passed."""

    retryable = False
    counts_as_failure = False
    outcome = "timeout"


class BackendError(LLMError):
    """The backend answered with an error status or an unusable reply."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = True,
        counts_as_failure: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.counts_as_failure = counts_as_failure
        self.retry_after = retry_after


class RateLimitedError(BackendError):
    """The backend answered HTTP 429: it is up but asks us to slow down.

    Retried after ``retry_after`` seconds when the server says so (up to the call's deadline,
    not capped by the backoff ceiling); never a breaker failure.
    """

    outcome = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(
            message, status=429, retryable=True, counts_as_failure=False, retry_after=retry_after
        )


class SamplingRejectedError(LLMError):
    """The user declined the sampling request; neither retried nor a breaker failure."""

    retryable = False
    counts_as_failure = False
    outcome = "rejected"


class SamplingUnavailableError(LLMError):
    """No backend can serve the request (client cannot sample, no server-side LLM)."""

    retryable = False
    counts_as_failure = False


class LLMRequiredError(LLMError):
    """``--require-llm`` was given and the backend is offline or a digest has no model text."""

    exit_code = 3


class WriteError(WebplatformError):
    """A write into the workspace failed; the previous file content is intact."""


class WorkspaceBusyError(WriteError):
    """Another process kept the workspace lock longer than the configured bound."""


class FetchError(WebplatformError):
    """A release-note download failed, was too large, or was redirected off-site."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = "error") -> None:
        super().__init__(message)
        self.status = status
        #: short label: not_found, http_error, timeout, network, truncated, too_large,
        #: redirect_refused, not_html, unconvertible (also the telemetry outcome)
        self.reason = reason


class RunStateError(WebplatformError):
    """A run token is forged, expired or replayed, or the run cannot continue."""

    exit_code = 2


class RunInterruptedError(WebplatformError):
    """A signal stopped a digest run; its state is kept and it can be resumed."""

    def __init__(self, run_id: str, signum: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(
            f"run {run_id} interrupted by {name}; its state is kept. Resume it with: "
            f"webplatform-digest run --resume {run_id}"
        )
        self.exit_code = 128 + signum
