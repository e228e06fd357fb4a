"""A bounded poster: subjects' events over HTTP at a capped rate, retried until a 202.

What a careful client does: each subject's events go in order, the next one
only after the previous got its 202; a request without a 202 (503, refused
connection, timeout) is sent again with the same id after a pause, until
``give_up_s``.  Used by the fault-injection tests; it only talks to the URL
it is given (127.0.0.1 there).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from services.bench.post_plan import JsonObject, Plan


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
