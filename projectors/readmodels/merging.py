"""One write to many agency schemas as one statement.

The engine writes one schema per agency, and a batch at hundreds of agencies
touches hundreds of schemas with a row or two each: one statement per
schema, table and shape, each costing its fixed part (the driver's work, a
message, an executor start) for those few rows, and too many texts for the
driver to keep prepared (psycopg keeps 100).  Where a write goes to many
schemas, their copies are therefore sent as one statement of data-modifying
``WITH`` parts (``WITH w0 AS (INSERT INTO "a".t ...), w1 AS (INSERT INTO
"b".t ...) INSERT INTO "c".t ...``), each part reading its own schema's rows
from its own parameters.  Postgres runs every part to completion, on
separate tables, in one snapshot: the same as the separate statements, which
never read one another's writes either (each one writes its own schema).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from infra.db import Numbered, write_raw
from projectors.readmodels.rendering import SCHEMA, quote

#: A group of at least this many schemas is merged (fewer are written one by one, as
#: prepared statements).
MERGE_FROM = 8
#: At most this many schemas per merged statement (its text and parameters stay bounded).
MERGE_AT_MOST = 100

_NUMBER = re.compile(rb"\$(\d+)")
_SCHEMA = f"{SCHEMA}.".encode()


@dataclass(frozen=True, slots=True)
class Parts:
    """A write as its statements (one, or an ``UPDATE`` and an ``INSERT``), each split
    at its ``$n`` parameters, and the parameters' names (shared by the parts)."""

    chunks: tuple[tuple[bytes, ...], ...]  # per part: the text around its parameters
    numbers: tuple[tuple[int, ...], ...]  # per part: each parameter's 0-based number
    names: tuple[str, ...]

    @classmethod
    def of(cls, parts: Sequence[str]) -> Parts:
        """``parts``: driver SQL (``%(name)s``), tables in :data:`SCHEMA`."""
        names: list[str] = []
        chunks, numbers = [], []
        for part in parts:
            numbered = Numbered.of(part)
            # Each part numbers its own parameters: map them to the shared names.
            for name in numbered.names:
                if name not in names:
                    names.append(name)
            pieces = _NUMBER.split(numbered.numbered)
            chunks.append(tuple(pieces[0::2]))
            numbers.append(tuple(names.index(numbered.names[int(n) - 1]) for n in pieces[1::2]))
        return cls(tuple(chunks), tuple(numbers), tuple(names))

    def text(self, schemas: Sequence[str]) -> bytes:
        """The statement writing to each of ``schemas`` in turn, its parameters
        numbered per schema (the first schema's ``$1``..., the next's after them)."""
        statements: list[bytes] = []
        width = len(self.names)
        for index, schema in enumerate(schemas):
            quoted = f"{quote(schema)}.".encode()
            offset = index * width + 1
            for chunks, numbers in zip(self.chunks, self.numbers, strict=True):
                out = [chunks[0]]
                for number, chunk in zip(numbers, chunks[1:], strict=True):
                    out.append(b"$%d" % (number + offset))
                    out.append(chunk)
                statements.append(b"".join(out).replace(_SCHEMA, quoted))
        *withs, last = statements
        if not withs:
            return last
        parts = b", ".join(b"w%d AS (%s)" % (n, body) for n, body in enumerate(withs))
        return b"WITH " + parts + b" " + last


def write_merged(
    conn: Connection, parts: Parts, writes: Sequence[tuple[str, Mapping[str, Any]]]
) -> bool:
    """Send ``writes`` (schema, parameters) as statements of up to :data:`MERGE_AT_MOST`
    schemas each; ``False``, and nothing sent, with a driver other than psycopg."""
    for start in range(0, len(writes), MERGE_AT_MOST):
        chunk = writes[start : start + MERGE_AT_MOST]
        values = [params[name] for _, params in chunk for name in parts.names]
        text = parts.text([schema for schema, _ in chunk])
        # Each set of schemas is a new text: run unprepared, never cached by the driver.
        shown = f"{text[:200].decode(errors='replace')}... ({len(chunk)} schemas)"
        if not write_raw(conn, text, values, shown=shown, prepare=False):
            return False
    return True


__all__ = ["MERGE_AT_MOST", "MERGE_FROM", "Parts", "write_merged"]
