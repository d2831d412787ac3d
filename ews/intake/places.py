"""Once a report is placed (ews.understand.placing): settle an ambiguous place, or ask where it happened.

Off the request path: the receipt never waits for this. The question is an outbox message of kind `question`
to the reporter's kept contact (encrypted), so it goes out through whichever notifier serves SMS (Twilio's
Messages API or Africa's Talking), like any other message, and the reporter's STOP is honoured by the outbox.
An answer is a short SMS from the same sender within the window: it is attached to the asked report and
its place resolved, not stored as a new report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

import asyncpg

from ews.core.clock import utcnow
from ews.core.models import IntakeResult, Language, ReportIn, StorageUnavailable, StoredReport, report_reference
from ews.core.privacy import ContactCipher, redact_phones, sender_hash
from ews.core.worker import WakeableWorker
from ews.db.repo import monitors, places
from ews.db.repo.outbox import enqueue_message, keep_reporter_contact
from ews.engine.series import apply_pending
from ews.understand.placing import Placed
from rules.gazetteer import PlaceHints, resolve_place

log = logging.getLogger(__name__)

# Channels whose sender can be texted back, each with the notifier that answers it (the question goes back
# the way the report came, whatever EWS_NOTIFIERS lists first); USSD and web-form reports pick their place in
# a menu or a field.
ASK_CHANNELS = {"twilio_sms": "twilio_sms", "at_sms": "africastalking_sms"}
# Longer messages are reports, not answers: the open-question lookup is only made for short ones, so a
# report of ordinary length costs no extra query on the request path.
ANSWER_MAX_CHARS = 80
# How old the list of asked senders may be. A question reaches a phone only after the outbox has sent it, so
# an answer within a second of it being asked by another process is not a real case.
ASKED_REFRESH_SECONDS = 1.0
# How many askable reports may wait for their place (a few minutes of a flood's worth); beyond, the
# oldest are not asked back.
MAX_AWAITING = 50_000
ANSWERS_PER_PASS = 100  # stored answers read for a place in one transaction

_DB_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)

_QUESTIONS: dict[Language, str] = {
    "en": "Where did this happen? Reply with the area name. Ref {ref}",
    "sw": "Hii ilitokea wapi? Jibu na jina la eneo. Kumb. {ref}",
}


def question_text(language: Language, reference: str) -> str:
    """The one question a reporter gets when their report names no place (English or Swahili)."""
    return _QUESTIONS[language].format(ref=reference)


class PlaceFollowUp:
    """Refines places and asks back after the commit; attaches answers to the asked report."""

    def __init__(self, pool: asyncpg.Pool, *, sender_key: str, cipher: ContactCipher, window: float,
                 ask: bool = True, on_placed: Callable[[Sequence[IntakeResult]], None] = lambda _r: None,
                 on_outbox: Callable[[], None] = lambda: None) -> None:
        self._pool = pool
        self._sender_key = sender_key
        self._cipher = cipher
        self._window = timedelta(seconds=window)
        self._ask = ask
        self._on_placed = on_placed
        self._on_outbox = on_outbox
        self._tasks: set[asyncio.Task[None]] = set()
        # Who was asked (by sender hash), read from the database at most once a second: an ordinary short
        # report from anyone else then costs no query on the request path.
        self._asked: set[str] = set()
        self._asked_at = float("-inf")
        self._asked_lock = asyncio.Lock()
        # Askable reports committed but not yet placed, by report id, oldest first: the raw sender is only
        # known on the request path, and whether to ask only once the text is read.
        self._awaiting: dict[int, tuple[ReportIn, StoredReport]] = {}
        # Reads stored answers for a place after their commit; started by the first wake-up.
        self._answers = _AnswerReader(self)
        self._answers_started = False

    def after_commit(self, report: ReportIn, stored: StoredReport, result: IntakeResult) -> None:
        """Intake's hook for each committed report: keep what asking back needs (the raw sender, only here)
        until the placing stage has read the report's place."""
        if not (result.created and self._may_ask(report)):
            return
        awaiting = self._awaiting
        if len(awaiting) >= MAX_AWAITING:
            # The placing stage is far behind (or down): the oldest reporters are not asked. Asking is
            # optional; the reports themselves are safe and will be placed.
            del awaiting[next(iter(awaiting))]
        awaiting[result.report_id] = (report, stored)

    def placed(self, placed: Sequence[Placed]) -> None:
        """The placing stage's hook: follow up in the background when there is reason to."""
        for item in placed:
            asked = self._awaiting.pop(item.report_id, None)
            # The stored county, not the text's alone: intake's screening may have placed it (a monitor's
            # home, a monitor's structured "42 3 ..." SMS).
            if not (item.ambiguous or (item.county_code is None and asked is not None)):
                continue
            task = asyncio.create_task(self._follow(item, asked), name=f"place-follow-up-{item.report_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _may_ask(self, report: ReportIn) -> bool:
        return self._ask and report.channel in ASK_CHANNELS and bool(report.sender)

    async def stop(self) -> None:
        """Let follow-ups in flight finish (they are short), then stop (an answer being read stays unread, for
        the next process to read)."""
        await self._answers.stop()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5.0)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _follow(self, item: Placed, asked: tuple[ReportIn, StoredReport] | None) -> None:
        reference = report_reference(item.report_id)
        try:
            if item.ambiguous and await self._refine(item, reference):
                return
            if item.county_code is None and asked is not None:
                await self._ask_where(*asked, item.report_id, reference)
        except _DB_ERRORS as exc:  # the report is safe; only the follow-up is lost, and it is optional
            log.warning("place follow-up failed report=%s: %s", reference, type(exc).__name__)

    async def _refine(self, item: Placed, reference: str) -> bool:
        """Settle an ambiguous name with the sender's registered home (a monitor's) and earlier reports;
        whether the place changed."""
        if item.sender_hash is None:
            return False
        async with self._pool.acquire() as conn:
            recent = await places.earlier_counties(conn, item.sender_hash, item.report_id)
            home = await monitors.home_county(conn, item.sender_hash)
            if not recent and home is None:
                return False
            match = resolve_place(item.body, PlaceHints(home_county=home, recent_counties=recent))
            if not match.found or match.ambiguous or match.county_code == item.county_code:
                return False
            await places.set_place(conn, item.report_id, county=match.county_code,
                                   constituency=match.constituency_code, ward=match.ward_code,
                                   confidence=match.confidence, span=redact_phones(match.span or ""),
                                   source="text")
        log.info("place settled by sender history report=%s county=%s", reference, match.county_code)
        language = _reply_language(item.language)
        self._on_placed([IntakeResult(item.report_id, reference, code, language, created=True)
                         for code in (item.county_code, match.county_code) if code is not None])
        return True

    async def _ask_where(self, report: ReportIn, stored: StoredReport, report_id: int, reference: str) -> None:
        now = stored.received_at
        async with self._pool.acquire() as conn, conn.transaction():
            contact_id = await keep_reporter_contact(conn, hash_key=self._sender_key, cipher=self._cipher,
                                                     address=report.sender, channel="sms",
                                                     language=stored.reply_language, now=now,
                                                     notifier=ASK_CHANNELS[report.channel])
            asked = await places.record_question(conn, report_id=report_id, sender_hash=stored.sender_hash,
                                                 contact_id=contact_id, now=now, expires_at=now + self._window)
            if not asked:
                return
            outbox_id = await enqueue_message(conn, kind="question", body=question_text(stored.reply_language,
                                                                                      reference),
                                              language=stored.reply_language, now=now,
                                              reporter_contact_id=contact_id,
                                              report_id=report_id)
            await places.link_question_outbox(conn, report_id, outbox_id)
        self._asked.add(stored.sender_hash)
        log.info("place question queued report=%s", reference)
        self._on_outbox()

    def may_answer(self, report: ReportIn) -> bool:
        """Whether this inbound report could be the answer to a question (cheap: no database)."""
        return (self._ask and report.channel in ASK_CHANNELS and bool(report.sender)
                and len(report.body) <= ANSWER_MAX_CHARS)

    async def _asked_senders(self, report: ReportIn) -> set[str]:
        loop = asyncio.get_running_loop()
        if loop.time() - self._asked_at > ASKED_REFRESH_SECONDS:
            async with self._asked_lock:  # one reload for all the requests that find the list stale
                if loop.time() - self._asked_at > ASKED_REFRESH_SECONDS:
                    async with self._pool.acquire() as conn:
                        self._asked = await places.asked_senders(conn, report.received_at)
                    self._asked_at = loop.time()
        return self._asked

    async def answer(self, report: ReportIn) -> IntakeResult | None:
        """Attach the message to the sender's open question; None when no question is open (the message is
        then an ordinary report). StorageUnavailable when the database cannot say. The answer is read for a
        place after the commit (`read_answers`), like any report's text."""
        try:
            asked = await self._asked_senders(report)
            if not asked:  # nobody is waiting to answer: no need to hash this sender a second time
                return None
            hashed = sender_hash(self._sender_key, report.sender)
            if hashed not in asked:
                return None
            async with self._pool.acquire() as conn, conn.transaction():
                question = await places.question_for(conn, hashed, source=report.idempotency_source,
                                                     external_id=report.external_id, now=report.received_at)
                if question is None:
                    return None
                reference = report_reference(question.report_id)
                # The stored language may be sheng (answered in Swahili) or mixed (issue 11).
                language = _reply_language(question.language)
                if question.answered:  # the gateway's retry of an answer already attached
                    return IntakeResult(question.report_id, reference, question.county_code, language, False)
                if not await places.record_answer(conn, question.report_id, now=report.received_at,
                                                  source=report.idempotency_source,
                                                  external_id=report.external_id,
                                                  body=redact_phones(report.body)):
                    return None
        except _DB_ERRORS as exc:
            log.warning("place answer could not be attached: %s", type(exc).__name__)
            raise StorageUnavailable(type(exc).__name__) from exc
        log.info("place answer attached report=%s", reference)
        self.read_answers_soon()
        return IntakeResult(question.report_id, reference, question.county_code, language, created=False)

    def read_answers_soon(self) -> None:
        """Read the stored answers in the background (after an answer's commit, and on the scheduler's sweep
        for any a process left unread when it stopped)."""
        if not self._answers_started:
            self._answers.start()
            self._answers_started = True
        self._answers.wake()

    async def read_answers(self) -> int:
        """Read stored answers for a place and move their reports there, in one transaction; how many."""
        placed: list[IntakeResult] = []
        async with self._pool.acquire() as conn, conn.transaction():
            unread = await places.unread_answers(conn, ANSWERS_PER_PASS)
            for answer in unread:
                recent = await places.earlier_counties(conn, answer.sender_hash, answer.report_id)
                match = resolve_place(answer.body, PlaceHints(recent_counties=recent))
                await places.mark_answer_read(conn, answer.report_id, now=utcnow())
                reference = report_reference(answer.report_id)
                log.info("place answer read report=%s county=%s", reference, match.county_code)
                if not match.found:
                    continue
                await places.set_place(conn, answer.report_id, county=match.county_code,
                                       constituency=match.constituency_code, ward=match.ward_code,
                                       confidence=match.confidence, span=redact_phones(match.span or ""),
                                       source="answer")
                language = _reply_language(answer.language)
                placed.append(IntakeResult(answer.report_id, reference, match.county_code, language, True))
            if placed:
                await apply_pending(conn)  # the reports count where they now are, from this commit on
        if placed:
            self._on_placed(placed)
        return len(unread)


class _AnswerReader(WakeableWorker):
    """Reads a follow-up's stored answers until none is left, whenever woken."""

    name = "place-answers"

    def __init__(self, follow_up: PlaceFollowUp) -> None:
        super().__init__()
        self._follow_up = follow_up

    async def work(self) -> None:
        """Read answers in batches until a batch comes back short."""
        while await self._follow_up.read_answers() == ANSWERS_PER_PASS:
            pass


def _reply_language(stored: str | None) -> Language:
    """The language to write back in for a stored report's language (Sheng is answered in Swahili)."""
    return "sw" if stored in ("sw", "sheng") else "en"
