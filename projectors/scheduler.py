"""The worker's scheduler: key destruction when holds end, consent expiry, relays.

Every tick (blocking work in a thread): destroy the keys of erasures whose
hold ended, emit ``haven.consent.expired.v1`` for grants past ``expires_at``,
relay the system outbox to the log and the notice outbox to each agency's
notices topic; and, in a loop of its own, send due webhook deliveries.  Each
step is its own transaction and safe to repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from events.topics import log_topic
from events.types.system import ConsentExpired
from projectors.keys.destruction import destroy_subject_epochs, due_erasures
from projectors.keys.keyring import Keyring
from projectors.outbox.notices import NoticeRelay
from projectors.outbox.store import enqueue, relay_pending, system_event
from projectors.outbox.webhook_delivery import WebhookDispatcher

logger = logging.getLogger("haven.scheduler")

#: A step that fails this many ticks in a row is logged as an error; fewer
#: failures (a connection dropped mid-step, say) are warnings, since every
#: step is safe to repeat and the next tick retries it.
FAILURES_BEFORE_ERROR = 3


def destroy_due_keys(engine: Engine, keyring: Keyring | None = None) -> int:
    """Carry out every scheduled destruction whose hold has ended."""
    with engine.begin() as conn:
        due = due_erasures(conn)
        destroyed = [kid for erasure in due for kid in destroy_subject_epochs(conn, erasure)]
    if keyring is not None:
        keyring.forget(destroyed)
    if due:
        logger.info("erasure holds ended", extra={"erasures": len(due), "keys": len(destroyed)})
    return len(due)


def emit_expiries(engine: Engine) -> int:
    """Put ``consent.expired`` into the system outbox for every grant past its expiry."""
    with engine.begin() as conn:
        rows = conn.execute(
            text(
                "SELECT subject_id, consent_id FROM haven_core.consent_expiries"
                " WHERE emitted_at IS NULL AND expires_at <= now()"
                " ORDER BY expires_at LIMIT 500 FOR UPDATE SKIP LOCKED"
            )
        ).all()
        now = datetime.now(UTC)
        for subject, consent_id in rows:
            expired = ConsentExpired(consent_id=consent_id, expired_at=now)
            enqueue(conn, system_event(expired, subject=subject))
            conn.execute(
                text(
                    "UPDATE haven_core.consent_expiries SET emitted_at = now()"
                    " WHERE subject_id = :s AND consent_id = :c"
                ),
                {"s": subject, "c": consent_id},
            )
    return len(rows)


class Scheduler:
    """Runs the scheduled steps every ``tick_s`` until stopped."""

    def __init__(
        self,
        engine: Engine,
        bootstrap_servers: str,
        topic_prefix: str,
        keyring: Keyring | None = None,
        tick_s: float = 0.5,
        webhooks: WebhookDispatcher | None = None,
    ) -> None:
        self._engine = engine
        self._bootstrap = bootstrap_servers
        self._log_topic = log_topic(topic_prefix)
        self._keyring = keyring
        self._notices = NoticeRelay(engine, bootstrap_servers, topic_prefix)
        self._webhooks = webhooks
        self.tick_s = tick_s
        self.counts: Counter[str] = Counter()
        self._stopping = asyncio.Event()
        #: The same stop, for the steps running in a thread.
        self._halt = threading.Event()
        #: A round's steps in order, by the count each returns.
        self._steps: dict[str, Callable[[], int]] = {
            "erasures_executed": lambda: destroy_due_keys(self._engine, self._keyring),
            "expiries_emitted": lambda: emit_expiries(self._engine),
            "system_events_relayed": lambda: relay_pending(
                self._engine, self._bootstrap, self._log_topic
            ),
            "notices_relayed": self._notices.relay,
        }

    def tick(self) -> Counter[str]:
        """One round of every step (blocking); a stop asked meanwhile ends the round
        between steps (what is left waits for the next start: each step is safe to repeat)."""
        done: Counter[str] = Counter()
        for name, step in self._steps.items():
            if self._halt.is_set():
                break
            done[name] = step()
        self.counts.update(done)
        return done

    def deliver_webhooks(self) -> Counter[str]:
        """One round of webhook deliveries (blocking)."""
        done: Counter[str] = Counter()
        if self._webhooks is not None:
            done["webhooks_delivered"] = self._webhooks.deliver()
        self.counts.update(done)
        return done

    async def run(self) -> None:
        """Tick until :meth:`stop`; a failing tick is logged and retried next tick
        (a warning, then an error from :data:`FAILURES_BEFORE_ERROR` failures in a row).

        Webhook deliveries run in a loop of their own, so a slow endpoint
        never delays key destruction or the relays.
        """
        try:
            await asyncio.gather(
                self._every_tick(self.tick), self._every_tick(self.deliver_webhooks)
            )
        finally:
            await asyncio.to_thread(self._notices.close)

    async def _every_tick(self, step: Callable[[], Counter[str]]) -> None:
        failures = 0  # in a row
        while not self._stopping.is_set():
            try:
                await asyncio.to_thread(step)
            except Exception:
                failures += 1
                extra = {"step": step.__name__, "failures_in_a_row": failures}
                if failures < FAILURES_BEFORE_ERROR:  # a broker or database hiccup: retried
                    logger.warning("scheduler step failed; retrying", exc_info=True, extra=extra)
                else:
                    logger.exception("scheduler step keeps failing; retrying", extra=extra)
            else:
                if failures:
                    logger.info(
                        "scheduler step recovered",
                        extra={"step": step.__name__, "failures_in_a_row": failures},
                    )
                failures = 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.tick_s)

    def stop(self) -> None:
        """Stop after the current step."""
        self._halt.set()
        self._stopping.set()
