"""Nothing accepted is lost: faults injected into ``haven up`` while a poster sends.

Each case posts 2,000 events over HTTP (at most 200/s, to 127.0.0.1) for
fresh subjects: a grant to the police, an identification with a personal
name, and an erasing withdrawal for every fourth subject.  Meanwhile one part
of the stack is killed (the worker, Postgres, the broker) or ``haven up`` is
stopped with SIGTERM and started again.  The poster retries what got no 202,
as clients do.  Every case ends with every event accepted and applied
exactly once (audit ledger), every withdrawal applied (read models of the
NGO and the police), ``haven audit verify`` passing, and, after the last,
no personal value in plaintext in any topic, table or file.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from infra.db import sync_engine
from infra.embedded.processes import free_port
from services.bench.post_plan import Plan, withdrawal_plan
from services.bench.poster import Poster, PostReport
from tests.conftest import _scratch_dir
from tests.e2e.fault_rig import Up, check_case, wait_until
from tests.e2e.plaintext import plaintext_in_files, plaintext_in_tables, plaintext_in_topics

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

EVENTS = 2000
RATE = 200.0
FAULT_AFTER_S = 3.0


class Stack:
    """``haven up`` with an NGO (the poster) and the police (a recipient)."""

    def __init__(self, data_dir: Path) -> None:
        self.up = Up(data_dir, free_port())
        self.up.start()
        self.ngo = self.up.add_agency("gr_ngo", "ngo")
        self.up.add_agency("gr_police", "police")
        self.engine, self.bootstrap = self._connect()
        # Recipients are known per log partition once their registration is applied there.
        wait_until(lambda: self._registered_in() == 6, 60, "the police known in every partition")

    def _registered_in(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM haven_core.partition_agencies"
                        " WHERE agency_id = 'gr_police'"
                    )
                ).scalar_one()
            )

    def _connect(self) -> tuple[Engine, str]:
        url, bootstrap = self.up.engine_url()  # new ports each time haven up starts infra
        return sync_engine(url), bootstrap

    def restart(self) -> None:
        """SIGTERM ``haven up``, start it again, reconnect."""
        self.up.sigterm()
        self.up.start()
        self.engine.dispose()
        self.engine, self.bootstrap = self._connect()

    def run_case(self, fault: Callable[[Stack], None]) -> PostReport:
        plan: Plan = withdrawal_plan(EVENTS, "gr_ngo", "police")
        poster = Poster(self.up.base, self.ngo, plan, rate=RATE).start()
        time.sleep(FAULT_AFTER_S)
        fault(self)
        report = poster.join(300)
        check_case(self.up, self.engine, plan, report)
        return report


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with _scratch_dir("haven-faults-") as data_dir:
        running = Stack(data_dir)
        try:
            yield running
        finally:
            running.engine.dispose()
            running.up.kill()


def _kill(kind: str) -> Callable[[Stack], None]:
    def fault(stack: Stack) -> None:
        victim = stack.up.child(kind)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        # Supervised back: a new child of the same kind, and health 200 again.
        wait_until(lambda: stack.up.child(kind).pid != victim.pid, 120, f"a new {kind}")
        stack.up.wait_healthy(120)

    return fault


def test_sigkill_of_the_worker_loses_nothing(stack: Stack) -> None:
    stack.run_case(_kill("worker"))


def test_sigkill_of_postgres_loses_nothing(stack: Stack) -> None:
    report = stack.run_case(_kill("postgres"))
    assert report.answers["503"] > 0, "the API never said the database was down"
    assert set(report.answers) <= {"202", "503"}, f"not a 503 problem: {report.answers}"


def test_sigkill_of_the_broker_loses_nothing(stack: Stack) -> None:
    stack.run_case(_kill("tansu"))


def test_sigterm_of_haven_up_then_start_loses_nothing(stack: Stack) -> None:
    report = stack.run_case(Stack.restart)
    assert report.answers["202"] < sum(report.answers.values()), "the stop refused nothing"
    with stack.engine.connect() as conn:
        waiting = conn.execute(text("SELECT count(*) FROM haven_core.sealed_outbox")).scalar()
    assert waiting == 0, "the outbox keeps records the engine archived"


def test_no_personal_value_in_plaintext_anywhere(stack: Stack) -> None:
    with stack.engine.begin() as conn:
        conn.execute(text("CHECKPOINT"))  # table files on disk hold what the tables hold
    assert plaintext_in_tables(stack.engine) == []
    assert plaintext_in_topics(stack.bootstrap) == []
    assert plaintext_in_files(stack.up.data_dir) == []
