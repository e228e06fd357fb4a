"""A subject's rows erased where they are: stored ones deleted, collected ones dropped.

A grant's sharing, a rectification and a withdrawal erase an agency's rows
about their subject (and a withdrawal or rectification its statistics
facts).  The changes the subject's events collected earlier in the batch
and that are not written yet are not written first: the stored rows are
deleted (none when the subject has none stored: no state of it was stored
before the batch and none of its rows were written in it) and the collected
changes to rows about the subject in those tables are dropped, which leaves
what writing them and then deleting would.  A withdrawal counts what it
erased from the keys the delete returns and the changes dropped.  Dropped
changes are still tried, in a savepoint rolled back, when the batch is
written (``BatchScope.dropped``), so that a value Postgres refuses fails and
parks its event as before.  When such a change is not plainly about the
subject, a projector erases or counts its own way, or a table's primary key
is not text, the subject's changes are written first
(:func:`flush_subject`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from infra.db import Statement, pipelined, read_together
from projectors.engine.batch import BatchScope
from projectors.engine.bookkeeping import READ_BACK
from projectors.readmodels.changes import Pending, RowKey
from projectors.readmodels.erasing import (
    about,
    erase_keys,
    erase_rows,
    erase_statement,
    erased_from,
    text_keys,
)
from projectors.readmodels.sdk import Projector


def flush_subject(scope: BatchScope, subject: str) -> None:
    """Write what a grant, withdrawal, expiry or rectification of ``subject`` reads.

    That is the rows its events changed, the holdings and the retained
    deliveries and receipts; the other subjects' rows wait.  A projector with
    its own ``erase`` or ``count`` may read any row: then everything is
    written (``BatchScope.flush``).
    """
    if scope.registry.own_erasure():
        scope.flush()
        return
    scope.stored.add(subject)
    keys = scope.touched.pop(subject, set())
    with pipelined(scope.conn):  # writes only, as in BatchScope.flush
        scope.holdings.flush(scope.conn)
        scope.books.flush(scope.conn, READ_BACK)
    scope.write({key: pending for key in keys if (pending := scope.changes.pop(key, None))})


def _drop(scope: BatchScope, key: RowKey) -> Pending:
    """Forget a collected change the erasure makes moot; it is still tried at the next
    ``BatchScope.flush`` (in the first store of ``scope.dropped`` without its key)."""
    change = scope.changes.pop(key)
    free = next((store for store in scope.dropped if key not in store), None)
    if free is None:
        scope.dropped.append(free := {})
    free[key] = change
    return change


def _collected(
    scope: BatchScope, schema: str, projectors: Sequence[Projector], subject: str
) -> list[RowKey]:
    """The keys of the subject's collected changes in the tables erased; when they must
    be written first (the module's rule), that is done and none are left."""
    tables = {table.name: table for p in projectors for table in p.subject_tables()}
    touched = scope.touched.get(subject, set())
    mine = [key for key in touched if key[0] == schema and key[1] in tables]
    mine = [key for key in mine if key in scope.changes]
    if mine and (
        any(p.own_erasure() for p in projectors)
        or any(
            not text_keys(tables[key[1]])
            or about(tables[key[1]], key[2], scope.changes[key]) != subject
            for key in mine
        )
    ):
        flush_subject(scope, subject)
        return []
    return mine


#: ``(connection rendering in the schema, schema, projectors)``: where to erase.
Target = tuple[Connection, str, Sequence[Projector]]


def erase_subject(
    scope: BatchScope,
    conn: Connection,
    schema: str,
    projectors: Sequence[Projector],
    subject: str,
) -> dict[str, int]:
    """Delete every row about ``subject`` of ``projectors`` in ``schema`` (``conn``
    renders there), stored or collected; the rows erased per projector name, as if
    the collected changes had been written first."""
    return erase_subjects(scope, subject, [(conn, schema, projectors)])[0][0]


def erase_subjects(
    scope: BatchScope, subject: str, targets: Sequence[Target], read: Statement | None = None
) -> tuple[list[dict[str, int]], list[tuple[Any, ...]]]:
    """:func:`erase_subject` in each target, in order; the stored rows of all of them are
    deleted in one round trip (one by one when a projector erases its own way).
    ``read``: a statement that neither reads nor writes those rows, sent in the
    same round trip; its rows come back beside the erased counts.

    Each target's collected changes are settled (written first, or dropped) in
    order before any delete runs: the deletes of the earlier ones then run after
    a later one's writing first, which writes nothing in their tables (their
    collected changes there are dropped already, and a subject with nothing
    stored before has nothing stored in them)."""
    reads = [read] if read is not None else []
    if any(p.own_erasure() for _, _, projectors in targets for p in projectors):
        answer = read_together(scope.conn, reads) if reads else []
        erased = []
        for conn, schema, projectors in targets:
            # One connection renders every schema: put it in this target's.
            conn.execution_options(schema_translate_map={None: schema})
            erased.append(_erase_one(scope, (conn, schema, projectors), subject))
        return erased, answer[0] if answer else []
    plans = []
    for _, schema, projectors in targets:
        dropped = _drop_collected(scope, subject, _collected(scope, schema, projectors, subject))
        statement = (
            erase_statement(schema, projectors, subject, keys=bool(dropped))
            if subject in scope.stored
            else None
        )
        plans.append((projectors, dropped, statement))
    statements = [s for _, _, s in plans if s is not None]
    answers = iter(read_together(scope.conn, [*reads, *statements]))
    read_rows = next(answers) if reads else []
    results = []
    for projectors, dropped, statement in plans:
        found = next(answers) if statement is not None else None
        if dropped:
            keys = erased_from(projectors, found, keys=True) if found else {}
            results.append(_counted(projectors, keys, dropped))
        elif found:
            results.append(erased_from(projectors, found, keys=False))
        else:
            results.append(dict.fromkeys((p.name for p in projectors), 0))
    return results, read_rows


def _drop_collected(
    scope: BatchScope, subject: str, mine: list[RowKey]
) -> list[tuple[RowKey, Pending]]:
    """Drop the subject's collected changes ``mine`` (``_drop``); each with its change."""
    touched = scope.touched.get(subject, set())
    dropped = []
    for key in mine:
        dropped.append((key, _drop(scope, key)))
        touched.discard(key)
    return dropped


def _counted(
    projectors: Sequence[Projector],
    stored: dict[str, set[tuple[Any, ...]]],
    dropped: list[tuple[RowKey, Pending]],
) -> dict[str, int]:
    """Rows erased per projector name: those deleted (``stored``, their keys by table)
    and those the dropped changes would have left, as if written first."""
    owner = {table.name: p.name for p in projectors for table in p.subject_tables()}
    counts = dict.fromkeys((p.name for p in projectors), 0)
    for name, keys in stored.items():
        counts[owner[name]] += len(keys)
    for key, change in dropped:
        existed = key[2] in stored.get(key[1], ())
        exists = change.insert is not None or (existed and not change.deleted)
        counts[owner[key[1]]] += int(exists) - int(existed)
    return counts


def _erase_one(scope: BatchScope, target: Target, subject: str) -> dict[str, int]:
    """:func:`erase_subject` of one schema, statement by statement (a projector with its
    own ``erase`` or ``count`` may read any row)."""
    conn, schema, projectors = target
    owner = {table.name: p.name for p in projectors for table in p.subject_tables()}
    mine = _collected(scope, schema, projectors, subject)
    own = any(p.own_erasure() for p in projectors)
    if own or (subject in scope.stored and not mine):
        return erase_rows(conn, projectors, subject)
    stored: dict[str, set[tuple[Any, ...]]] = {name: set() for name in owner}
    if subject in scope.stored:
        stored = erase_keys(conn, projectors, subject)
    return _counted(projectors, stored, _drop_collected(scope, subject, mine))
