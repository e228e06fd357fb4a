"""``infra.db.pipelined``: writes sent without waiting still apply in order, and fail loudly."""

from __future__ import annotations

import os
import secrets
import socket
import threading

import psycopg
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from infra.db import pipelined

pytestmark = pytest.mark.integration


@pytest.fixture
def table(engine: Engine) -> str:
    name = f"pipelined_{secrets.token_hex(4)}"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE {name} (id int PRIMARY KEY, v text NOT NULL)"))
    return name


def test_writes_apply_in_order(engine: Engine, table: str) -> None:
    with engine.begin() as conn:
        with pipelined(conn):
            for n in range(50):
                conn.execute(text(f"INSERT INTO {table} VALUES (:n, 'a')"), {"n": n})
            conn.execute(text(f"UPDATE {table} SET v = 'b' WHERE id < 10"))
        seen = conn.execute(text(f"SELECT count(*) FROM {table} WHERE v = 'b'")).scalar()
    assert seen == 10, "the update ran after the inserts sent before it"
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 50


def test_an_error_fails_the_transaction_and_nothing_of_it_stays(engine: Engine, table: str) -> None:
    def write() -> None:
        with engine.begin() as conn, pipelined(conn):
            conn.execute(text(f"INSERT INTO {table} VALUES (1, 'a')"))
            conn.execute(text(f"INSERT INTO {table} VALUES (1, 'duplicate')"))
            conn.execute(text(f"INSERT INTO {table} VALUES (2, 'after')"))

    with pytest.raises(IntegrityError):
        write()
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
    with engine.begin() as conn:  # the pooled connection is usable again
        conn.execute(text(f"INSERT INTO {table} VALUES (3, 'c')"))
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1


def test_a_lost_connection_is_an_operational_error(engine: Engine, table: str) -> None:
    """The engine tells an outage (stop, retry later) from a poison event (park it) by this."""

    def write() -> None:
        with engine.begin() as conn, pipelined(conn):
            conn.execute(text(f"INSERT INTO {table} VALUES (1, 'a')"))
            pid = conn.connection.driver_connection.info.backend_pid  # type: ignore[union-attr]
            with engine.connect() as admin:
                admin.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
            conn.execute(text(f"INSERT INTO {table} VALUES (2, 'b')"))

    with pytest.raises(OperationalError):
        write()
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0


def test_a_statement_larger_than_the_socket_then_a_nested_block(engine: Engine, table: str) -> None:
    """psycopg's send loop could stop with part of a large statement still in libpq's
    buffer; a nested block's sync then waited for ever for answers to a statement the
    server never got in full (infra.pipeline_flush), on a Unix socket or TCP alike."""
    big = "x" * 20_000_000  # far more than a socket's buffers hold
    drivers: list[psycopg.Connection[object]] = []
    done = threading.Event()

    def write() -> None:
        with engine.begin() as conn:
            driver = conn.connection.driver_connection
            assert isinstance(driver, psycopg.Connection)
            drivers.append(driver)
            with pipelined(conn):
                conn.execute(text(f"INSERT INTO {table} VALUES (1, :v)"), {"v": big})
                with pipelined(conn):
                    conn.execute(text(f"INSERT INTO {table} VALUES (2, 'b')"))
        done.set()

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    thread.join(60)
    if thread.is_alive():  # stuck: break its connection so that the thread ends
        stuck = socket.socket(fileno=os.dup(drivers[0].pgconn.socket))
        stuck.shutdown(socket.SHUT_RDWR)
        stuck.close()
        thread.join(10)
    assert done.is_set(), "the nested block waited for answers to a statement not sent in full"
    with engine.connect() as conn:
        counted = conn.execute(text(f"SELECT count(*), sum(length(v)) FROM {table}")).one()
    assert tuple(counted) == (2, 20_000_001)
