"""``text[]`` columns of a bulk insert: an array literal (``text_array``) and a JSON
list store the same values, whatever characters they hold."""

from __future__ import annotations

from sqlalchemy import Engine

from infra.bulk import Columns, bulk_insert, text_array

COLUMNS: Columns = (("k", "int"), ("a", "text[]"))
AWKWARD = frozenset(
    {
        "plain",
        'a "quoted" one',
        "back\\slash",
        "a,comma",
        "{braces}",
        " spaced ",
        "NULL",
        "",
        "ünïcødé ✓",
        "ends\\",
        '"',
    }
)


def _stored(engine: Engine, rows: list[tuple[int, object]]) -> dict[int, list[str] | None]:
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMP TABLE arrays (k int PRIMARY KEY, a text[])")
        bulk_insert(conn, "arrays", COLUMNS, rows)
        stored: dict[int, list[str] | None] = dict(
            conn.exec_driver_sql("SELECT k, a FROM arrays").all()
        )
        conn.rollback()
    return stored


def test_a_literal_stores_what_a_json_list_stores(engine: Engine) -> None:
    stored = _stored(
        engine,
        [
            (1, text_array(AWKWARD)),
            (2, sorted(AWKWARD)),
            (3, text_array(frozenset())),
            (4, []),
            (5, None),
            (6, text_array(("z", "a", "z"))),
        ],
    )
    assert stored[1] == sorted(AWKWARD)
    assert stored[2] == sorted(AWKWARD)
    assert stored[3] == stored[4] == []
    assert stored[5] is None
    assert stored[6] == ["z", "a", "z"]  # a tuple keeps its order and repeats


def test_a_set_is_sorted_and_equal_sets_share_one_literal() -> None:
    assert text_array(frozenset({"b", "a"})) == '{"a","b"}'
    assert text_array(frozenset({"a", "b"})) is text_array(frozenset({"b", "a"}))
