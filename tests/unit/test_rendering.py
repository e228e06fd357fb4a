"""Read-model statements are rendered once and put in each agency's schema (pure)."""

from __future__ import annotations

import sqlalchemy as sa

from projectors.readmodels.builtin.subjects import _RECOUNT
from projectors.readmodels.rendering import SCHEMA, rendered


def test_every_table_of_a_core_statement_lands_in_the_schema() -> None:
    sql = rendered(_RECOUNT, 'Ag "x"')
    assert SCHEMA not in sql
    assert sql.count('"Ag ""x""".subjects') >= 2
    assert sql.count('FROM "Ag ""x""".protective_orders') == 2
    assert "%(s)s" in sql  # the driver's parameter style


def test_a_text_statement_keeps_its_text_apart_from_the_schema() -> None:
    statement = sa.text(f"DELETE FROM {SCHEMA}.t WHERE note = '{SCHEMA}' AND id = :i")
    assert rendered(statement, "ag_gr") == (
        "DELETE FROM \"ag_gr\".t WHERE note = '__haven_schema__' AND id = %(i)s"
    )
