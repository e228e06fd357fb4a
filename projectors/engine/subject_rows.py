"""A subject's rows erased where they are: stored ones deleted, collected ones dropped.

A grant's sharing and a rectification erase an agency's rows about their
subject before projecting its record again, and a withdrawal or a
rectification erases its statistics facts.  The changes the subject's
events collected earlier in the batch need not be written first: the stored
rows are deleted (``erase_rows``) and the collected changes to rows about
the subject in those tables are dropped, which leaves what writing them and
then deleting would.  When such a change is not plainly about the subject,
or a projector erases its own way, the subject's changes are written first
(``BatchScope.flush_subject``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from projectors.engine.batch import BatchScope
from projectors.readmodels.erasing import about, erase_rows
from projectors.readmodels.sdk import Projector


def erase_subject(
    scope: BatchScope,
    conn: Connection,
    schema: str,
    projectors: Sequence[Projector],
    subject: str,
) -> None:
    """Delete every row about ``subject`` of ``projectors`` in ``schema`` (``conn``
    renders there), stored or collected and not yet written."""
    tables = {table.name: table for p in projectors for table in p.subject_tables()}
    touched = scope.touched.get(subject, set())
    mine = [key for key in touched if key[0] == schema and key[1] in tables]
    mine = [key for key in mine if key in scope.changes]
    if any(p.own_erasure() for p in projectors) or any(
        about(tables[key[1]], key[2], scope.changes[key]) != subject for key in mine
    ):
        scope.flush_subject(subject)
        mine = []
    erase_rows(conn, projectors, subject)
    for key in mine:
        del scope.changes[key]
        touched.discard(key)
