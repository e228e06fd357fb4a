"""Named statements on the API's pooled connections: a read's select (and a logged
read's access-log insert) is parsed and planned once per connection, not at every read.

A logged read (:func:`services.api.db.agency.read_logged`) is one simple-query
message, and Postgres parses and plans each statement of such a message
every time.  Over 10,000 subject reads (50 clients, two API processes)
planning was 1.1 s of the 1.9 s of statement time: 50-55 us each for the
select and the access-log insert.  So the message runs them as ``EXECUTE``
of statements prepared on its connection.  The first message on a
connection that lacks one prepares it itself, in the same transaction and
under the role that then runs it (looking the tables up needs that role's
rights; Postgres checks the rights again at every execution, whoever
prepared it).

A statement's name is a hash of its text, so one text is prepared once per
connection whatever the request, and its arguments are the text's
placeholders in order, quoted on the client like the rest of the message.
A connection keeps at most :data:`HELD` of them and deallocates the oldest.
A message that fails leaves unknown which of its ``PREPARE``s ran (a
``PREPARE`` outlives a rolled-back transaction).  When Postgres only refused an
argument, the connection then reads which it holds (:func:`after_failure`):
one more round trip, not a new connection, which a request with a bad page
cursor could otherwise force each time.  Any other failure closes it.
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections import OrderedDict
from functools import lru_cache

import psycopg

from services.api.db.aio import Conn

#: Named statements one connection keeps (a few per agency and read shape).
HELD = 256
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_HELD: weakref.WeakKeyDictionary[Conn, OrderedDict[str, None]] = weakref.WeakKeyDictionary()
#: The named statements a connection holds (psycopg's own are named otherwise).
_NAMES = "SELECT name FROM pg_prepared_statements WHERE name LIKE 'haven\\_%'"


@lru_cache(maxsize=4096)
def _statement(sql: str) -> tuple[str, str, str]:
    """The name, the ``PREPARE`` and the ``EXECUTE`` (placeholders for its arguments)
    of ``sql``, a statement with ``%(name)s`` placeholders."""
    order: dict[str, int] = {}

    def positional(found: re.Match[str]) -> str:
        return f"${order.setdefault(found[1], len(order) + 1)}"

    body = _PLACEHOLDER.sub(positional, sql)
    name = "haven_" + hashlib.blake2b(body.encode(), digest_size=8).hexdigest()
    arguments = ", ".join(f"%({key})s" for key in order)
    run = f"EXECUTE {name}({arguments})" if order else f"EXECUTE {name}"
    return name, f"PREPARE {name} AS {body}", run


def execute(conn: Conn, sql: str) -> str:
    """What a message on ``conn`` sends to run ``sql`` (``%(name)s`` placeholders, ``%%``
    for a percent sign, as the client-side cursor fills them): its ``EXECUTE``,
    after its ``PREPARE`` when ``conn`` does not have it yet."""
    name, prepare, run = _statement(sql)
    held = _HELD.setdefault(conn, OrderedDict())
    if name in held:
        held.move_to_end(name)
        return run
    held[name] = None
    steps = [prepare, run]
    if len(held) > HELD:
        steps.insert(0, f"DEALLOCATE {held.popitem(last=False)[0]}")
    return "; ".join(steps)


async def after_failure(conn: Conn, error: Exception) -> None:
    """After a message on ``conn`` failed (and was rolled back), since which of its
    ``PREPARE``s ran is unknown: if Postgres refused an argument (a bad page cursor, say),
    read which named statements ``conn`` holds; otherwise (a statement itself may be
    broken: a plan whose result type changed with its table) close ``conn``, and the
    pool opens another."""
    if conn not in _HELD:
        return
    if isinstance(error, psycopg.errors.DataError):
        try:
            cursor = await conn.execute(_NAMES, prepare=False)
            _HELD[conn] = OrderedDict.fromkeys(str(row[0]) for row in await cursor.fetchall())
            return
        except psycopg.Error:
            pass
    _HELD.pop(conn, None)
    await conn.close()


__all__ = ["HELD", "after_failure", "execute"]
