"""Which LLM backend a run uses (pure).

``auto``: the client's model when the client declared the sampling capability, else the
server-side OpenAI-compatible endpoint when ``WEBPLATFORM_LLM_BASE_URL`` is set, else the
offline backend. An explicit ``WEBPLATFORM_LLM_BACKEND`` is obeyed or fails with a clear
message; it never silently degrades.
"""

from dataclasses import dataclass
from typing import Literal

from webplatform_digest.errors import ConfigError, RunStateError, SamplingUnavailableError

BackendKind = Literal["sampling", "openai", "offline"]
#: how sampling reaches the client: server→client request (2025-11-25) or input-required rounds
SamplingFlow = Literal["back_channel", "input_required", ""]


@dataclass(frozen=True, slots=True)
class BackendChoice:
    """The backend for one run and why (the reason goes into the run summary)."""

    kind: BackendKind
    reason: str
    flow: SamplingFlow = ""


def choose_backend(
    configured: str,
    *,
    client_can_sample: bool,
    server_llm_configured: bool,
    modern_session: bool = False,
) -> BackendChoice:
    """Pick the backend for a run.

    Raises:
        ConfigError: ``openai`` was configured without a base URL, or an unknown value.
        SamplingUnavailableError: ``sampling`` was configured but the client cannot sample.
    """
    if configured == "offline":
        return BackendChoice("offline", "WEBPLATFORM_LLM_BACKEND=offline: deterministic digests")
    if configured == "openai":
        if not server_llm_configured:
            raise ConfigError("WEBPLATFORM_LLM_BACKEND=openai needs WEBPLATFORM_LLM_BASE_URL")
        return BackendChoice("openai", "WEBPLATFORM_LLM_BACKEND=openai: server-side LLM")
    if configured == "sampling":
        if not client_can_sample:
            raise SamplingUnavailableError(
                "WEBPLATFORM_LLM_BACKEND=sampling, but the connected MCP client did not declare "
                "the sampling capability; use a client that can sample, or set "
                "WEBPLATFORM_LLM_BACKEND=auto with WEBPLATFORM_LLM_BASE_URL"
            )
        return _sampling("WEBPLATFORM_LLM_BACKEND=sampling: the client's model", modern_session)
    if configured != "auto":
        raise ConfigError(f"WEBPLATFORM_LLM_BACKEND: unknown backend {configured[:40]!r}")
    return _automatic(client_can_sample, server_llm_configured, modern_session)


def _automatic(can_sample: bool, server_llm: bool, modern: bool) -> BackendChoice:
    if can_sample:
        return _sampling("the client declared the sampling capability", modern)
    if server_llm:
        return BackendChoice(
            "openai",
            "the client cannot sample; using the server-side LLM (WEBPLATFORM_LLM_BASE_URL)",
        )
    return BackendChoice(
        "offline",
        "the client cannot sample and WEBPLATFORM_LLM_BASE_URL is not set: deterministic "
        "offline digests, no LLM",
    )


def _sampling(reason: str, modern: bool) -> BackendChoice:
    return BackendChoice("sampling", reason, "input_required" if modern else "back_channel")


def resume_choice(
    run_id: str,
    stored: str,
    *,
    client_can_sample: bool,
    server_llm_configured: bool,
    modern_session: bool = False,
) -> BackendChoice:
    """The backend that finishes an interrupted run: the one that started it, never another.

    Raises:
        RunStateError: that backend is not available here (the message names what is missing).
    """
    run = f"run {run_id[:64]!r}"
    if stored == "openai":
        if not server_llm_configured:
            raise RunStateError(
                f"{run} was written by an OpenAI-compatible endpoint whose address was not "
                "stored; set WEBPLATFORM_LLM_BASE_URL (and WEBPLATFORM_LLM_MODEL) to resume it"
            )
        return BackendChoice("openai", f"resumed with the backend {run} started with")
    if stored == "sampling":
        if not client_can_sample:
            raise RunStateError(
                f"{run} was written by an MCP client's model (sampling); resume it from an "
                "MCP client that can sample (webplatform_digest with resume_run_id)"
            )
        return _sampling(f"resumed with the backend {run} started with", modern_session)
    if stored == "offline":
        return BackendChoice("offline", f"resumed with the backend {run} started with")
    raise RunStateError(f"{run} has no stored backend ({stored[:40]!r}); it cannot be resumed")
