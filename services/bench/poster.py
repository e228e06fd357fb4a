"""A bounded poster: subjects' events over HTTP at a capped rate, retried until a 202.

What a careful client does: each subject's events go in order, the next one
only after the previous got its 202; a request without a 202 (503, refused
connection, timeout) is sent again with the same id after a pause, until
``give_up_s``.  Used by the fault-injection tests and ``haven bench``'s
recovery figures.  Only talks to the URL it is given (127.0.0.1 there).
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from services.scenarios.builders import cloudevent

JsonObject = dict[str, Any]
#: Every personal value the plan carries starts with this: search for it anywhere.
NAME_MARK = "Qzvmarkname"


@dataclass(frozen=True)
class Plan:
    """Events per subject in order, which subjects withdraw (erasing), and which
    ones end shared with the recipient (identified after the grant, not withdrawn)."""

    subjects: list[tuple[str, list[JsonObject]]]
    withdrawn: frozenset[str]
    shared: frozenset[str]

    @property
    def events(self) -> int:
        """How many events the plan posts."""
        return sum(len(events) for _, events in self.subjects)


def withdrawal_plan(total: int, agency: str, recipient_type: str, every: int = 4) -> Plan:
    """``total`` events: per subject an identification with a unique name, a grant to
    ``recipient_type``, the identification again (shared now), and for every
    ``every``-th subject an erasing withdrawal."""
    subjects: list[tuple[str, list[JsonObject]]] = []
    withdrawn: set[str] = set()
    shared: set[str] = set()
    count = 0
    while count < total:
        subject = str(uuid.uuid4())
        now = datetime.now(UTC)
        identified = _identified(len(subjects))
        events = [
            _event(agency, "haven.victim.identified.v1", subject, identified),
            _event(agency, "haven.consent.granted.v1", subject, _grant(subject, recipient_type)),
            _event(agency, "haven.victim.identified.v1", subject, identified),  # now shared
        ]
        if len(subjects) % every == every - 1:
            withdrawal = {"withdrawn_at": now.isoformat(), "scope": "all"}
            events.append(_event(agency, "haven.consent.withdrawn.v1", subject, withdrawal))
            withdrawn.add(subject)
        events = events[: total - count]  # the last subject may be cut short
        if len(events) < 4:
            withdrawn.discard(subject)
        if len(events) == 3:
            shared.add(subject)
        subjects.append((subject, events))
        count += len(events)
    return Plan(subjects, frozenset(withdrawn), frozenset(shared))


def _event(agency: str, event_type: str, subject: str, data: JsonObject) -> JsonObject:
    return cloudevent(
        agency=agency,
        jurisdiction="GR",
        event_type=event_type,
        subject=subject,
        time=datetime.now(UTC),
        data=data,
    )


def _grant(subject: str, recipient_type: str) -> JsonObject:
    return {
        "consent_id": f"c-{subject[:8]}",
        "granted_at": datetime.now(UTC).isoformat(),
        "recipients": {"agency_types": [recipient_type]},
        "purposes": ["care", "protection"],
    }


def _identified(index: int) -> JsonObject:
    return {
        "identified_at": datetime.now(UTC).isoformat(),
        "nationality": ["UA"],
        "exploitation_types": ["forced_labour"],
        "indicators": [],
        "is_minor": False,
        "languages": ["uk"],
        "personal": {"full_name": f"{NAME_MARK}{index:06d} Vellacourt"},
    }


@dataclass
class _Pace:
    """A shared cap: at most ``rate`` requests per second, across threads."""

    rate: float
    _next: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + 1.0 / self.rate
        time.sleep(max(0.0, slot - now))


@dataclass
class PostReport:
    """What the server said."""

    accepted: set[str] = field(default_factory=set)
    given_up: set[str] = field(default_factory=set)
    answers: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0


class Poster:
    """Posts a :class:`Plan` from ``lanes`` threads, at most ``rate`` requests per second."""

    def __init__(
        self,
        base_url: str,
        token: str,
        plan: Plan,
        *,
        rate: float = 200.0,
        lanes: int = 8,
        give_up_s: float = 180.0,
    ) -> None:
        self._base, self._token, self._plan = base_url, token, plan
        self._pace = _Pace(rate)
        self._lanes, self._give_up_s = lanes, give_up_s
        self._work: queue.Queue[Sequence[JsonObject]] = queue.Queue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.report = PostReport()
        self._began = 0.0

    def start(self) -> Poster:
        """Start posting in the background."""
        self._began = time.monotonic()
        for _, events in self._plan.subjects:
            self._work.put(events)
        self._threads = [
            threading.Thread(target=self._lane, name=f"poster-{i}", daemon=True)
            for i in range(self._lanes)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def join(self, timeout_s: float) -> PostReport:
        """Wait until every event got its 202 or was given up."""
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(thread.is_alive() for thread in self._threads):
            raise TimeoutError(f"the poster did not finish within {timeout_s}s")
        self.report.elapsed_s = round(time.monotonic() - self._began, 3)
        return self.report

    def _lane(self) -> None:
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/cloudevents+json",
        }
        with httpx.Client(base_url=self._base, timeout=10.0, headers=headers) as client:
            while True:
                try:
                    events = self._work.get_nowait()
                except queue.Empty:
                    return
                for event in events:
                    if not self._post(client, event):
                        break  # the rest of this subject would be out of order

    def _post(self, client: httpx.Client, event: JsonObject) -> bool:
        deadline = time.monotonic() + self._give_up_s
        while time.monotonic() < deadline:
            self._pace.wait()
            try:
                answer = client.post("/v1/events", json=event)
                status = str(answer.status_code)
            except httpx.HTTPError as error:
                status = type(error).__name__
            with self._lock:
                self.report.answers[status] += 1
            if status == "202":
                with self._lock:
                    self.report.accepted.add(str(event["id"]))
                return True
            time.sleep(0.25)
        with self._lock:
            self.report.given_up.add(str(event["id"]))
        return False
