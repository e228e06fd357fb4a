"""The HTTP API on the real stack: visibility, isolation, errors, access log, no plaintext."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import sqlalchemy as sa

from projectors.directory.agencies import rotate_token
from services.api.pagination import encode_cursor
from tests.integration.api_rig import (
    AGENCIES,
    SECRET_ALIAS,
    SECRET_NAME,
    ApiStack,
    event,
    eventually,
    grant,
    identification,
    refused_as,
    risk,
)

pytestmark = pytest.mark.integration
READ_ENDPOINTS = ("/v1/risk-register", "/v1/protective-orders", "/v1/placements", "/v1/refusals")


@pytest.fixture(scope="module")
def subjects(stack: ApiStack) -> dict[str, str]:
    """S1 identified with consent for coordinator, police, immigration; S2 without consent."""
    shared, private = str(uuid.uuid4()), str(uuid.uuid4())
    batch = [
        event("gr_ngo", "haven.victim.identified.v1", shared, identification()),
        event(
            "gr_ngo",
            "haven.consent.granted.v1",
            shared,
            grant(
                ["gr_coord", "gr_police", "gr_immig"], ["care", "protection", "residence_status"]
            ),
        ),
        # The grant shares the first identification; the update after it reaches them too.
        event("gr_ngo", "haven.victim.identified.v1", shared, identification()),
        event("gr_ngo", "haven.risk.assessed.v1", shared, risk("high")),
        event("gr_ngo", "haven.victim.identified.v1", private, identification()),
        event("gr_ngo", "haven.risk.assessed.v1", private, risk("critical")),
    ]
    response = stack.post("gr_ngo", batch, **{"content-type": "application/cloudevents-batch+json"})
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == [e["id"] for e in batch]
    eventually(lambda: stack.get("gr_coord", f"/v1/subjects/{shared}").status_code == 200)
    eventually(
        lambda: (
            stack.get("gr_ngo", f"/v1/subjects/{private}").json().get("risk_level") == "critical"
        )
    )
    eventually(lambda: len(stack.get("gr_coord", "/v1/risk-register").json()["items"]) == 2)
    return {"shared": shared, "private": private}


def test_posted_event_is_visible_to_permitted_agencies_only(
    stack: ApiStack, subjects: dict[str, str]
) -> None:
    shared = subjects["shared"]
    coordinator = stack.get("gr_coord", f"/v1/subjects/{shared}").json()
    assert coordinator["personal"]["full_name"] == SECRET_NAME, "decrypted for the coordinator"
    police = stack.get("gr_police", f"/v1/subjects/{shared}")
    assert police.status_code == 200
    immigration = stack.get("gr_immig", f"/v1/subjects/{shared}").json()
    assert immigration["nationality"] == ["UA"]
    assert immigration["exploitation_types"] is None, "non-punishment: no exploitation details"
    for agency in ("gr_police", "gr_immig"):
        body = stack.get(agency, f"/v1/subjects/{shared}").text
        assert SECRET_NAME not in body
        assert SECRET_ALIAS not in body
    for outsider in ("de_police", "gr_shelter", "gr_audit"):
        response = stack.get(outsider, f"/v1/subjects/{shared}")
        assert response.status_code == 404
        assert SECRET_NAME not in response.text


def test_isolation_matrix_over_every_read_endpoint(
    stack: ApiStack, subjects: dict[str, str]
) -> None:
    """No agency ever gets a row about a subject it was not given."""
    allowed = {
        "gr_ngo": {subjects["shared"], subjects["private"]},
        "gr_coord": {subjects["shared"], subjects["private"]},  # critical: vital interests
        "gr_police": {subjects["shared"]},
        "gr_immig": {subjects["shared"]},
    }
    for agency, _, _ in AGENCIES:
        seen: set[str] = set()
        for path in (*READ_ENDPOINTS, *(f"/v1/subjects/{s}/timeline" for s in subjects.values())):
            response = stack.get(agency, path)
            assert response.status_code in (200, 404), (agency, path, response.text)
            if response.status_code == 200:
                seen |= {item.get("subject_id", "") for item in response.json()["items"]}
                assert SECRET_NAME not in response.text or agency in ("gr_ngo", "gr_coord")
        seen.discard("")
        for subject in subjects.values():
            status = stack.get(agency, f"/v1/subjects/{subject}").status_code
            if status == 200:
                seen.add(subject)
        assert seen <= allowed.get(agency, set()), agency


def test_agency_roles_are_refused_by_postgres(stack: ApiStack) -> None:
    """Directly in SQL: another schema, haven_core secrets, and RESET ROLE all fail."""
    roles: dict[str, str] = dict(
        stack.context.core.connect()
        .execute(sa.text("SELECT id, db_role FROM haven_core.agencies"))
        .all()
    )
    forbidden = (
        "SELECT * FROM agency_gr_ngo.subjects",
        "SELECT * FROM haven_core.keys",
        "SELECT * FROM haven_core.agency_tokens",
    )
    refused_as(stack.context.reader, f'"{roles["gr_police"]}"', forbidden)
    with stack.context.reader.connect() as conn, conn.begin():
        conn.exec_driver_sql(f'SET LOCAL ROLE "{roles["gr_police"]}"')
        conn.exec_driver_sql("SELECT count(*) FROM agency_gr_police.subjects")  # its own: fine
        conn.exec_driver_sql("RESET ROLE")
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.exec_driver_sql("SELECT count(*) FROM agency_gr_police.subjects")


def test_unauthenticated_and_revoked_tokens_get_401(
    stack: ApiStack, subjects: dict[str, str]
) -> None:
    path = f"/v1/subjects/{subjects['shared']}"
    assert stack.client.get(path).status_code == 401
    bad = {"Authorization": "Bearer hvn_0000000000000000_nope"}
    assert stack.client.get(path, headers=bad).status_code == 401
    assert stack.client.post("/v1/events", json={}, headers=bad).status_code == 401
    old = stack.pipeline.tokens["de_police"]
    fresh = rotate_token(stack.context.core, "de_police").token
    time.sleep(stack.context.tokens.ttl_s)  # the documented revocation delay of the token cache
    assert (
        stack.client.get("/v1/refusals", headers={"Authorization": f"Bearer {old}"}).status_code
        == 401
    )
    stack.pipeline.tokens["de_police"] = fresh
    assert stack.get("de_police", "/v1/refusals").status_code == 200


def test_post_errors_name_the_field_and_never_echo_values(stack: ApiStack) -> None:
    subject = str(uuid.uuid4())
    bad = event("gr_ngo", "haven.victim.identified.v1", subject, identification())
    bad["data"]["is_minor"] = SECRET_NAME
    response = stack.post("gr_ngo", bad)
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "data.is_minor"
    assert SECRET_NAME not in response.text
    good = event("gr_ngo", "haven.victim.identified.v1", subject, identification())
    response = stack.post("gr_ngo", [good, bad])
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["[1].data.is_minor"]
    foreign = event("gr_police", "haven.victim.identified.v1", subject, identification())
    assert stack.post("gr_ngo", foreign).status_code == 403
    headers = stack.headers("gr_ngo") | {"content-type": "application/json"}
    broken = stack.client.post("/v1/events", content=b"{not json", headers=headers)
    assert broken.status_code == 422
    assert broken.json()["reason"] == "invalid_json"
    huge = stack.client.post("/v1/events", content=b" " * (1_048_576 + 1), headers=headers)
    assert huge.status_code == 413
    assert stack.client.post("/v1/events", content=b" " * (1_048_576 + 1)).status_code == 413, (
        "size is checked before authentication"
    )


def test_auditor_endpoints_and_access_log(stack: ApiStack, subjects: dict[str, str]) -> None:
    shared = subjects["shared"]
    assert stack.get("gr_coord", f"/v1/subjects/{shared}").status_code == 200
    assert stack.get("gr_police", "/v1/access-log").status_code == 403
    assert stack.get("gr_police", f"/v1/erasures/{shared}").status_code == 403
    entries = stack.get("gr_audit", "/v1/access-log", subject_id=shared).json()["items"]
    readers = {(e["agency_id"], e["endpoint"]) for e in entries}
    assert ("gr_coord", "subject") in readers
    assert all(e["read_at"] for e in entries)
    assert stack.get("gr_audit", f"/v1/erasures/{shared}").json() == []
    assert stack.get("gr_audit", "/v1/indicators").status_code == 200
    assert stack.get("gr_police", f"/v1/audit/trail/{shared}").status_code == 403
    trail = stack.get("gr_audit", f"/v1/audit/trail/{shared}")
    assert trail.status_code == 200
    body = trail.json()
    assert body["events"]
    assert "gr_coord" in body["recipients"]
    assert ("gr_coord", "subject") in {(r["agency_id"], r["endpoint"]) for r in body["reads"]}
    assert SECRET_NAME not in trail.text
    assert SECRET_ALIAS not in trail.text
    assert stack.get("gr_coord", "/v1/indicators").status_code == 200
    assert stack.get("gr_police", "/v1/indicators").status_code == 403


def test_risk_register_filters_and_cursor_pagination(
    stack: ApiStack, subjects: dict[str, str]
) -> None:
    first = stack.get("gr_coord", "/v1/risk-register", limit=1).json()
    assert [i["level"] for i in first["items"]] == ["critical"], "most urgent first"
    second = stack.get("gr_coord", "/v1/risk-register", limit=1, cursor=first["next_cursor"]).json()
    assert [i["subject_id"] for i in second["items"]] == [subjects["shared"]]
    assert second["next_cursor"] is None
    high = stack.get("gr_coord", "/v1/risk-register", level="high").json()["items"]
    assert {i["level"] for i in high} == {"high"}
    assert stack.get("gr_coord", "/v1/risk-register", jurisdiction="DE").json()["items"] == []
    bad = stack.get("gr_coord", "/v1/risk-register", cursor="garbage")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "cursor"


@pytest.mark.parametrize("written", ["4\n", " 4", "+4", "4_0", "\u0664"])
def test_a_page_size_not_written_in_digits_is_refused(stack: ApiStack, written: str) -> None:
    """Python's ``int`` reads each of these as a number; the API's schema says integer."""
    for path in ("/v1/notices", "/v1/risk-register"):
        bad = stack.get("gr_coord", path, limit=written)
        assert bad.status_code == 422, (path, written)
        assert bad.json()["errors"][0]["path"] == "query.limit"
    assert stack.get("gr_coord", "/v1/notices", limit="4").status_code == 200


def test_timeline_pages_in_log_order_and_refuses_a_forged_cursor(
    stack: ApiStack, subjects: dict[str, str]
) -> None:
    path = f"/v1/subjects/{subjects['shared']}/timeline"
    whole = stack.get("gr_coord", path).json()["items"]
    assert len(whole) >= 2
    paged, cursor = [], None
    while True:
        params = {"limit": "1"} if cursor is None else {"limit": "1", "cursor": cursor}
        page = stack.get("gr_coord", path, **params).json()
        paged += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == whole
    assert [(e["time"], e["event_id"]) for e in whole] == sorted(
        (e["time"], e["event_id"]) for e in whole
    )
    forged = encode_cursor(["not a time", "evt"])
    bad = stack.get("gr_coord", path, cursor=forged)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "cursor"


_READS = (
    "SELECT subject_id, count(*) FROM haven_core.access_log"
    " WHERE agency_id = :a AND endpoint = :e GROUP BY subject_id"
)


def _reads(stack: ApiStack, agency: str, endpoint: str) -> dict[str, int]:
    with stack.context.core.connect() as conn:
        rows = conn.execute(sa.text(_READS), {"a": agency, "e": endpoint})
        return {str(subject): int(n) for subject, n in rows}


def test_a_page_logs_the_subjects_it_shows_in_its_own_transaction(
    stack: ApiStack, subjects: dict[str, str]
) -> None:
    """The page's one extra row (read to know whether another page follows) is not shown,
    so its subject is not logged; a later page of a timeline is logged even when empty."""
    shared, private = subjects["shared"], subjects["private"]
    before = _reads(stack, "gr_coord", "risk-register")
    first = stack.get("gr_coord", "/v1/risk-register", limit=1).json()
    assert [i["subject_id"] for i in first["items"]] == [private]
    after = _reads(stack, "gr_coord", "risk-register")
    assert after.get(private, 0) == before.get(private, 0) + 1, "seen from another connection"
    assert after.get(shared, 0) == before.get(shared, 0), "the extra row was not shown"
    stack.get("gr_coord", "/v1/risk-register", limit=1, cursor=first["next_cursor"])
    assert _reads(stack, "gr_coord", "risk-register").get(shared, 0) == before.get(shared, 0) + 1
    whole = stack.get("gr_coord", "/v1/risk-register", limit=500).json()["items"]
    assert len(whole) == 2
    logged = _reads(stack, "gr_coord", "risk-register")
    assert [logged[s] - after.get(s, 0) for s in (private, shared)] == [1, 2], "once per page"
    assert stack.get("gr_coord", "/v1/risk-register", cursor="garbage").status_code == 422
    assert _reads(stack, "gr_coord", "risk-register") == logged, "a refused page logs nothing"

    path = f"/v1/subjects/{shared}/timeline"
    timeline = _reads(stack, "gr_police", "timeline").get(shared, 0)
    page = stack.get("gr_police", path, limit=500).json()
    assert page["items"]
    assert page["next_cursor"] is None
    assert _reads(stack, "gr_police", "timeline").get(shared, 0) == timeline + 1
    past = encode_cursor(["9999-01-01T00:00:00+00:00", "evt"])
    empty = stack.get("gr_police", path, cursor=past)
    assert empty.status_code == 200
    assert empty.json()["items"] == []
    assert _reads(stack, "gr_police", "timeline").get(shared, 0) == timeline + 2
    assert stack.get("gr_shelter", path).status_code == 404
    assert shared not in _reads(stack, "gr_shelter", "timeline"), "nothing found, nothing logged"


def test_metrics_report_pipeline_counts(stack: ApiStack, subjects: dict[str, str]) -> None:
    bad = event("gr_ngo", "haven.victim.identified.v1", str(uuid.uuid4()), identification())
    bad["data"]["is_minor"] = "not a boolean"  # refused at the gateway, whatever ran before
    assert stack.post("gr_ngo", bad).status_code == 422
    text = stack.client.get("/metrics").text
    sealed = next(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("haven_events_sealed_total")
    )
    assert sealed >= 5
    assert 'haven_events_rejected_total{reason="schema_violation",stage="gateway"}' in text
    assert "haven_consumer_lag" in text


def test_no_plaintext_personal_value_anywhere_in_the_database(
    stack: ApiStack, subjects: dict[str, str]
) -> None:
    """Every text-like column of every table: neither the name nor the contact appears."""
    with stack.context.core.connect() as conn:
        columns = conn.execute(
            sa.text(
                "SELECT table_schema, table_name, column_name FROM information_schema.columns"
                " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
                " AND data_type IN ('text', 'jsonb', 'json', 'character varying', 'ARRAY', 'bytea')"
            )
        ).all()
        assert len(columns) > 20
        for schema, table, column in columns:
            found = conn.execute(
                sa.text(
                    f'SELECT count(*) FROM "{schema}"."{table}"'
                    f' WHERE position(:a IN CAST("{column}" AS text)) > 0'
                    f' OR position(:b IN CAST("{column}" AS text)) > 0'
                ),
                {"a": SECRET_NAME, "b": SECRET_ALIAS},
            ).scalar_one()
            assert found == 0, f"{schema}.{table}.{column}"
    assert json.dumps(subjects)
