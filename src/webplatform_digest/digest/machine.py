"""A digest run as a sans-I/O state machine: LLM requests out, replies (or failures) in.

Per area: English → repair → check → one corrective retry with the problems stated → fallback;
then each target language translated from the final English the same way (parallel mode: written
from the area data beside English, checked once the English is final). Good sections of a reply
are kept: a retry asks only for the missing features, the rest is filled from the release notes
(English) or left in English (translations), marked (status ``partial``). Drivers
(``runs/driver.py``) move requests and replies; this module does no I/O, keeps no clock;
``digest.codec`` gives its state a JSON form, so a run can continue later or after a restart.
"""

from dataclasses import replace

from webplatform_digest.digest.checks import Verdict
from webplatform_digest.digest.languages import parse_languages
from webplatform_digest.digest.partial import (
    assemble_chinese,
    assemble_english,
    english_parts,
    restricted,
    usable_chinese,
    usable_english,
)
from webplatform_digest.digest.plan import RunPlan, finished_digest
from webplatform_digest.digest.prompts import (
    Subject,
    english_focused_request,
    english_request,
    english_retry_request,
    fallback_english,
    validate_english,
)
from webplatform_digest.digest.state import (
    Failure,
    ItemState,
    PendingRequest,
    Phase,
    Progress,
    StageOutcome,
    item_request_id,
)
from webplatform_digest.digest.status import (
    accepted_status,
    area_outcome,
    stage_outcome,
    with_repairs,
)
from webplatform_digest.digest.translation import (
    direct_request,
    fallback_translation,
    translated_empty_page,
    translation_request,
    translation_retry_request,
    validate_translation,
)
from webplatform_digest.errors import RunStateError
from webplatform_digest.llm.port import LLMReply, LLMRequest
from webplatform_digest.models import AreaDigest, DigestStatus, Language

__all__ = [
    "DigestRun",
    "Failure",
    "PendingRequest",
    "Progress",
    "RunPlan",
    "StageOutcome",
    "parse_languages",
]

#: backend label of digests built without an LLM reply (fallbacks, empty pages)
FALLBACK_BACKEND = "deterministic"
#: the reason a parallel-mode reply waits for its area's English (then it is checked)
HELD = "held until the English digest is final"


#: stage names by ``language is not Language.EN``: English, then any translation
_STAGES = (("english_generation", "english_retry", "english_fallback"),
           ("translation", "translation_retry", "translation_fallback"))  # fmt: skip


class DigestRun:
    """The state machine of one digest run (see the module docstring)."""

    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan
        self._subjects = {s.data.area: s for s in plan.subjects}
        self._options = replace(plan.options, run_id=plan.run_id)
        self._items: dict[tuple[str, Language], ItemState] = {}
        self.outcomes: list[StageOutcome] = []
        self.llm_calls = 0
        self.cache_hits = 0
        self._last = "started"
        self._requests: dict[str, LLMRequest] = {}
        for subject in plan.subjects:
            self._add_items(subject)

    def _add_items(self, subject: Subject) -> None:
        area = subject.data.area
        for language in self._pipeline_languages():
            first = language is Language.EN or (self.plan.parallel and bool(subject.data.features))
            item = ItemState(area, language, Phase.READY if first else Phase.WAITING)
            self._items[(area, language)] = item
        if not subject.data.features:
            for item in self._area_items(area):
                self._finish(
                    item, translated_empty_page(subject, item.language), DigestStatus.EMPTY
                )
                item.reason = "no features in this release"
            self.outcomes.append(StageOutcome(area, "", "area_total", "ok", "no features"))

    def _pipeline_languages(self) -> tuple[Language, ...]:
        # translations are made from (or checked against) the English, so English always runs
        return (Language.EN, *(lang for lang in self.plan.languages if lang is not Language.EN))

    def _area_items(self, area: str) -> list[ItemState]:
        return [self._items[(area, lang)] for lang in self._pipeline_languages()]

    # Driving ---------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True when every item has its digest."""
        return all(item.phase is Phase.DONE for item in self._items.values())

    @property
    def in_flight(self) -> tuple[str, ...]:
        """Ids of the requests issued and not yet answered."""
        return tuple(item_request_id(i) for i in self._items.values() if i.phase is Phase.IN_FLIGHT)

    def ready_requests(self, limit: int) -> tuple[PendingRequest, ...]:
        """Issue up to ``limit`` ready requests: English before Chinese, then area order."""
        ready = [i for i in self._items.values() if i.phase is Phase.READY]
        ready.sort(key=lambda i: i.language is not Language.EN)  # stable: keeps area order
        for item in ready[: max(0, limit)]:
            item.phase = Phase.IN_FLIGHT
            item.attempt += 1
        return tuple(self._pending(item) for item in ready[: max(0, limit)])

    def _pending(self, item: ItemState) -> PendingRequest:
        return PendingRequest(
            item_request_id(item), item.area, item.language, item.attempt, self._request(item)
        )

    def _request(self, item: ItemState) -> LLMRequest:
        """The request of the item's current attempt (built once: prompts are not free)."""
        request_id = item_request_id(item)
        found = self._requests.get(request_id)
        if found is None:
            found = self._requests[request_id] = self._build_request(item)
        return found

    def _build_request(self, item: ItemState) -> LLMRequest:
        subject, options = self._subjects[item.area], self._options
        if item.language is Language.EN:
            if item.attempt == 1:
                return english_request(subject, options)
            if item.wanted:
                return english_focused_request(subject, item.wanted, options)
            return english_retry_request(subject, item.previous, item.problems, options)
        english = self._items[(item.area, Language.EN)]
        if self.plan.parallel and item.attempt == 1:
            return direct_request(subject, item.language, options, fallback_english(subject))
        if item.attempt == 1:
            return translation_request(subject, english.markdown, item.language, options)
        return translation_retry_request(
            subject, english.markdown, item.language, item.previous, item.problems, options
        )

    def in_flight_requests(self) -> tuple[PendingRequest, ...]:
        """The requests issued and not yet answered (the same values as when issued)."""
        return tuple(self._pending(i) for i in self._items.values() if i.phase is Phase.IN_FLIGHT)

    def request_for(self, request_id: str) -> LLMRequest:
        """The request an in-flight id stands for (rebuilt; identical to the issued one).

        Raises:
            RunStateError: the id is not in flight.
        """
        return self._request(self._in_flight_item(request_id))

    def _in_flight_item(self, request_id: str) -> ItemState:
        for item in self._items.values():
            if item.phase is Phase.IN_FLIGHT and item_request_id(item) == request_id:
                return item
        raise RunStateError(f"request {request_id[:80]!r} is not awaiting a reply in this run")

    def feed(self, request_id: str, result: LLMReply | Failure) -> tuple[StageOutcome, ...]:
        """Take the reply (or failure) of an in-flight request; return the outcomes it caused.

        Raises:
            RunStateError: the id is not in flight (unknown, already answered, or stale).
        """
        item = self._in_flight_item(request_id)
        start = len(self.outcomes)
        issued = self._requests.pop(request_id, None)
        fallback = issued.meta.fallback if issued is not None else self._fallback_text(item)
        if isinstance(result, Failure):
            self.llm_calls += 1
            self._failed(item, f"{result.error}: {result.message}".rstrip(": "), fallback)
        else:
            # the offline backend's answer (the request's own fallback) is not an LLM call
            offline = result.text.strip() == fallback.strip()
            self.cache_hits += int(result.cached)
            self.llm_calls += int(not (result.cached or offline))
            self._answered(item, result, fallback)
        self._after(item)
        return tuple(self.outcomes[start:])

    def _answered(self, item: ItemState, reply: LLMReply, fallback: str) -> None:
        stage = _STAGES[item.language is not Language.EN][min(item.attempt, 2) - 1]
        if item.language is not Language.EN and not self._english_final(item.area):
            # parallel mode: the reply is checked against the English once that is final
            held = HELD + (" (cached)" if reply.cached else "")  # the status says so later
            item.previous, item.reason, item.phase = reply.text, held, Phase.WAITING
            return
        if reply.text.strip() == fallback.strip():
            self._record(item, stage, "fallback", "the backend answered with the offline digest")
            self._finish(item, fallback, DigestStatus.FALLBACK, self.plan.backend)
            item.reason = "offline digest (no LLM)"
            return
        verdict = self._check(item, reply.text)
        if self._partly(item, reply, verdict, stage):
            return
        if verdict.ok:
            status = accepted_status(item.attempt, reply.cached, verdict.repairs)
            reason = "; ".join(item.problems) if item.attempt > 1 else ""
            self._record(item, stage, stage_outcome(status), with_repairs(verdict.repairs, reason))
            self._finish(item, verdict.markdown, status, self.plan.backend)
            item.reason = f"corrected after: {reason}" if reason else ""
            item.repairs = verdict.repairs
        elif item.attempt == 1:
            self._record(item, stage, "retried", "; ".join(verdict.problems))
            item.previous, item.problems, item.phase = reply.text, verdict.problems, Phase.READY
        else:
            self._record(item, stage, "error", "; ".join(verdict.problems))
            reason = "still invalid after a corrective retry: " + verdict.problems[0]
            self._fallback(item, reason, fallback)

    def _partly(self, item: ItemState, reply: LLMReply, verdict: Verdict, stage: str) -> bool:
        """Partial acceptance took the reply (True), or the usual path applies (False)."""
        if item.language is Language.EN:
            return bool(item.wanted or not verdict.ok) and self._partly_answered(
                item, reply, verdict, stage
            )
        return item.attempt > 1 and not verdict.ok and self._partly_translated(item, verdict, stage)

    def _partly_answered(
        self, item: ItemState, reply: LLMReply, verdict: Verdict, stage: str
    ) -> bool:
        """Partial acceptance of an English reply; False leaves the usual path to it."""
        subject = self._subjects[item.area]
        if item.wanted:  # the focused retry: whatever it got right joins the kept sections
            written = english_parts(verdict, item.wanted) if verdict.ok else {}
            if not verdict.ok and (
                usable := usable_english(restricted(subject, item.wanted), verdict)
            ):
                written = usable[1]
            self._finish_parts(item, written, stage, verdict, "; ".join(verdict.problems))
            return True
        usable = usable_english(subject, verdict)
        if usable is None:
            return False
        item.kept_preamble, item.kept = usable
        item.repairs = verdict.repairs  # the kept sections' repairs count for the digest
        if item.attempt == 1:
            item.wanted = verdict.missing
            reason = f"partial: {len(verdict.missing)} of {len(subject.titles)} features missing"
            self._record(item, stage, "retried", f"{reason}; " + "; ".join(verdict.problems))
            item.previous, item.problems, item.phase = reply.text, verdict.problems, Phase.READY
            return True
        self._finish_parts(item, {}, stage, verdict, "; ".join(verdict.problems))
        return True

    def _finish_parts(
        self, item: ItemState, written: dict[str, str], stage: str, verdict: Verdict, why: str
    ) -> None:
        """The English digest from the kept and newly written sections, the rest filled."""
        subject = self._subjects[item.area]
        repairs = tuple(dict.fromkeys((*item.repairs, *verdict.repairs)))
        markdown, filled = assemble_english(subject, item.kept_preamble, {**item.kept, **written})
        if filled:
            status = DigestStatus.PARTIAL
            reason = (
                f"{len(filled)} of {len(subject.titles)} sections written without an LLM: "
                + ", ".join(filled)
            )
        else:
            status = DigestStatus.REPAIRED if repairs else DigestStatus.RETRIED
            reason = "corrected after: " + "; ".join(item.problems)
        self._record(item, stage, stage_outcome(status), with_repairs(repairs, why or reason))
        self._finish(item, markdown, status, self.plan.backend)
        item.reason, item.repairs = reason[:500], repairs

    def _partly_translated(self, item: ItemState, verdict: Verdict, stage: str) -> bool:
        """Keep the translated sections of a last translation attempt; False if none."""
        english = self._items[(item.area, Language.EN)].markdown
        good = usable_chinese(english, verdict, item.language)
        if good is None:
            return False
        left = good.count(False)
        reason = f"{left} of {len(good)} sections kept in English (not translated)"
        self._record(item, stage, "partial", with_repairs(verdict.repairs, reason))
        self._finish(item, assemble_chinese(english, verdict.markdown, good, item.language),
                     DigestStatus.PARTIAL, self.plan.backend)  # fmt: skip
        item.reason, item.repairs = reason, verdict.repairs
        return True

    def _check(self, item: ItemState, text: str) -> Verdict:
        if item.language is Language.EN:
            subject = self._subjects[item.area]
            return validate_english(
                restricted(subject, item.wanted) if item.wanted else subject, text
            )
        english = self._items[(item.area, Language.EN)].markdown
        return validate_translation(english, text, item.language)

    def _failed(self, item: ItemState, reason: str, fallback: str) -> None:
        stage = _STAGES[item.language is not Language.EN][min(item.attempt, 2) - 1]
        self._record(item, stage, "error", reason)
        self._fallback(item, f"LLM call failed: {reason}", fallback)

    def _fallback_text(self, item: ItemState) -> str:
        if item.language is Language.EN:
            return fallback_english(self._subjects[item.area])
        english = self._items[(item.area, Language.EN)].markdown
        return fallback_translation(english, item.language)

    def _fallback(self, item: ItemState, reason: str, text: str | None = None) -> None:
        stage = _STAGES[item.language is not Language.EN][2]
        if item.kept:  # the good sections of an earlier reply are still worth keeping
            return self._finish_parts(item, {}, stage, Verdict(""), reason)
        self._record(item, stage, "fallback", reason)
        text = self._fallback_text(item) if text is None else text
        self._finish(item, text, DigestStatus.FALLBACK, FALLBACK_BACKEND)
        item.reason = reason

    def _record(self, item: ItemState, stage: str, outcome: str, reason: str) -> None:
        rid = item_request_id(item) if item.attempt else ""
        self.outcomes.append(
            StageOutcome(item.area, item.language.value, stage, outcome, reason[:500], rid)
        )

    def _finish(
        self, item: ItemState, markdown: str, status: DigestStatus, backend: str = FALLBACK_BACKEND
    ) -> None:
        item.markdown, item.status, item.phase, item.backend = markdown, status, Phase.DONE, backend
        item.previous, item.repairs = "", ()
        item.kept_preamble, item.kept, item.wanted = "", {}, ()
        self._last = f"{item.area} {item.language.value}: {status.value}"

    def _after(self, item: ItemState) -> None:
        """Unblock the translation of a final English; record the area total when complete."""
        if item.phase is not Phase.DONE:
            return
        if item.language is Language.EN:
            self._release_translations(item.area)
        items = self._area_items(item.area)
        if all(i.phase is Phase.DONE for i in items):
            outcome = area_outcome(i.status for i in items if i.status)
            self.outcomes.append(StageOutcome(item.area, "", "area_total", outcome))

    def _english_final(self, area: str) -> bool:
        return self._items[(area, Language.EN)].phase is Phase.DONE

    def _release_translations(self, area: str) -> None:
        """The English of ``area`` is final: translations waiting for it go ahead."""
        for language in self._pipeline_languages()[1:]:
            waiting = self._items[(area, language)]
            if waiting.phase is not Phase.WAITING:
                continue
            if not waiting.reason.startswith(HELD):
                waiting.phase = Phase.READY
                continue
            reply = LLMReply(waiting.previous, cached=waiting.reason.endswith("(cached)"))
            waiting.reason = ""
            self._answered(waiting, reply, self._fallback_text(waiting))  # the caller's _after

    def fail_remaining(self, reason: str) -> tuple[StageOutcome, ...]:
        """Give every unfinished item its fallback now (deadline passed, run abandoned)."""
        start = len(self.outcomes)
        for language in self._pipeline_languages():  # English first: Chinese falls back from it
            for item in [i for i in self._items.values() if i.language is language]:
                if item.phase is not Phase.DONE:
                    self._fallback(item, reason)
                    self._after(item)
        return tuple(self.outcomes[start:])

    def requeue_in_flight(self) -> tuple[str, ...]:
        """Put requests whose replies were lost (process restart) back into the ready set."""
        lost = self.in_flight
        for item in self._items.values():
            if item.phase is Phase.IN_FLIGHT:
                item.phase, item.attempt = Phase.READY, item.attempt - 1
        return lost

    # Results ---------------------------------------------------------------------------

    def progress(self) -> Progress:
        """Completed and total items with a message naming the latest one."""
        total = len(self._items)
        completed = sum(1 for i in self._items.values() if i.phase is Phase.DONE)
        return Progress(completed, total, f"{completed}/{total} digests ready; {self._last}")

    def area_finished(self, area: str) -> bool:
        """True when every item of ``area`` has its digest."""
        return all(i.phase is Phase.DONE for i in self._area_items(area))

    def area_digests(self, area: str) -> tuple[AreaDigest, ...]:
        """The finished digests of ``area`` in the requested languages (no timestamp yet)."""
        subject = self._subjects[area]
        found: list[AreaDigest] = []
        for language in self.plan.languages:
            item = self._items[(area, language)]
            if item.phase is Phase.DONE and item.status is not None:
                found.append(finished_digest(self.plan, subject, item))
        return tuple(found)

    def results(self) -> tuple[AreaDigest, ...]:
        """Every finished digest in the requested languages."""
        return tuple(d for s in self.plan.subjects for d in self.area_digests(s.data.area))

    def statuses(self) -> dict[str, dict[str, str]]:
        """``{area: {language: status}}`` for the requested languages (``pending`` if not done)."""
        table: dict[str, dict[str, str]] = {}
        for subject in self.plan.subjects:
            row = table.setdefault(subject.data.area, {})
            for language in self.plan.languages:
                item = self._items[(subject.data.area, language)]
                row[language.value] = item.status.value if item.status else "pending"
        return table

    def reasons(self) -> dict[str, dict[str, str]]:
        """``{area: {language: reason}}`` for finished items that have a reason."""
        table: dict[str, dict[str, str]] = {}
        for (area, language), item in self._items.items():
            if language in self.plan.languages and item.reason:
                table.setdefault(area, {})[language.value] = item.reason
        return table

    @property
    def fallbacks(self) -> int:
        """Requested digests that ended as a fallback."""
        return sum(
            1
            for (_, language), item in self._items.items()
            if language in self.plan.languages and item.status is DigestStatus.FALLBACK
        )

    # State for the codec -------------------------------------------------------------

    @property
    def items(self) -> tuple[ItemState, ...]:
        """Every item's state, English before Chinese per area (``digest.codec`` reads these)."""
        return tuple(self._items.values())

    @property
    def last(self) -> str:
        """The latest finished item, as named in progress messages."""
        return self._last

    @classmethod
    def from_state(
        cls,
        plan: RunPlan,
        items: list[ItemState],
        outcomes: list[StageOutcome],
        *,
        llm_calls: int,
        cache_hits: int,
        last: str,
    ) -> "DigestRun":
        """A run continued from saved state (``digest.codec.restore_run`` builds the parts).

        Raises:
            ValueError: the items are not exactly the plan's (area, language) items.
        """
        run = cls(plan)
        if {(i.area, i.language) for i in items} != set(run._items):
            raise ValueError("items do not match the plan")
        run._items = {(i.area, i.language): i for i in items}
        run.outcomes = outcomes
        run.llm_calls, run.cache_hits, run._last = llm_calls, cache_hits, last
        return run
