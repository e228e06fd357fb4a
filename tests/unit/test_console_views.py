"""The console's pure shaping: charts never number a suppressed month, timelines, chain rows."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from services.api.console.messages import LANGUAGE, MESSAGES
from services.api.console.views import chain_rows, charts, timeline

TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "api" / "console" / "templates"


def test_a_month_without_a_published_cell_is_suppressed_not_counted() -> None:
    cells = [{"jurisdiction": "GR", "month": date(2026, 11, 1), "subjects": 6}]
    present = [("GR", date(2026, 10, 1)), ("GR", date(2026, 11, 1)), ("IT", date(2026, 9, 1))]
    drawn = charts(cells, present)
    assert [c.jurisdiction for c in drawn] == ["GR", "IT"]
    greek = drawn[0]
    assert [(b.month.month, b.subjects) for b in greek.bars] == [(10, None), (11, 6)]
    assert greek.peak == 6
    assert drawn[1].bars[0].subjects is None
    assert drawn[1].bars[0].cell is None


def test_timeline_orders_every_kind_and_groups_receipts_per_agency() -> None:
    receipt = {
        "withdrawal_event_id": "w1",
        "rows_retained": 0,
        "key_action": "scheduled",
        "created_at": "2026-11-03T10:00:00+00:00",
    }
    trail = {
        "events": [
            {
                "time": "2026-11-01T10:00:00+00:00",
                "event_type": "haven.victim.identified.v1",
                "producer": "gr_ngo",
                "outcome": "applied",
                "jurisdiction": "GR",
                "recipients": ["gr_coord", "gr_ngo"],
                "topic": "haven.log.v1",
                "partition": 2,
                "offset": 9,
            }
        ],
        "refusals": [
            {
                "refused_at": "2026-11-02T10:00:00+00:00",
                "event_type": "haven.consent.granted.v1",
                "producer": "de_labour",
                "reason": "not_the_producer",
            }
        ],
        "reads": [
            {"read_at": "2026-11-01T12:00:00+00:00", "endpoint": "subject", "agency_id": "x"}
        ],
        "erasure_receipts": [
            receipt | {"agency_id": "gr_coord", "projector": "subjects", "rows_erased": 1},
            receipt | {"agency_id": "gr_coord", "projector": "timeline", "rows_erased": 2},
            receipt | {"agency_id": "gr_coord", "projector": "placements", "rows_erased": 0},
        ],
    }
    moments = timeline(trail)
    assert [m.kind for m in moments] == ["ev_event", "ev_read", "ev_refusal", "ev_receipt"]
    details = dict(moments[-1].details)
    assert details["rows_erased"] == "3"
    assert details["projector"] == "subjects 1, timeline 2"
    assert dict(moments[0].details)["partition"] == "haven.log.v1 / 2 @ 9"


def test_chain_rows_name_the_first_finding_of_the_last_run() -> None:
    partitions = [
        {"topic": "log", "partition": 0, "entries": 3, "last_offset": 2},
        {"topic": "log", "partition": 1, "entries": 4, "last_offset": 3},
        {"topic": "log", "partition": 2, "entries": 1, "last_offset": 0},
    ]
    finding = {"topic": "log", "partition": 1, "offset": 2, "kind": "modified", "detail": "d"}
    report = {
        "partitions": [
            {"topic": "log", "partition": 0, "findings": []},
            {"topic": "log", "partition": 1, "findings": [finding]},
        ]
    }
    rows = chain_rows(partitions, report)
    assert [r["result"] for r in rows] == ["holds", "broken", "never"]
    assert rows[1]["finding"] == finding
    assert [r["result"] for r in chain_rows(partitions, None)] == ["never"] * 3


def test_every_message_key_the_templates_use_exists() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        source = template.read_text()
        used |= set(re.findall(r"""t\(["']([a-z0-9_]+)["']\)""", source))
        used |= set(re.findall(r"""alert\(["']([a-z0-9_]+)["']\)""", source))
        for columns in re.findall(r"data_table\([^\[]*\[([^\]]*)\]", source):
            used |= set(re.findall(r'"([a-z0-9_]+)"', columns))
    assert used
    assert used <= set(MESSAGES[LANGUAGE])
