"""The scripted case: one survivor from Athens to Bari, with Berlin legal aid.

Each step is what agencies send, and what the read models must show after it
(docs/rules.md "Who receives what"). Consent comes right after identification:
the grant shares her record as it stands (no second identification), the
NGO corrects a wrong date of birth everywhere it went, and the police and
the shelter may then record events about her because they hold her
identification.  Her lawyer asks for a disclosure before she withdraws.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.demo import cast, checks
from services.demo.checks import Check, only
from services.demo.events import StoryEvents
from services.scenarios.ctdc import CtdcCase

_CONSENTED = set(cast.CONSENTED)
_NAME_READERS = {"gr_ngo", "gr_nrm", "it_nrm", "it_shelter", "de_legal_aid"}
_ORDER_HOLDERS = cast.ORDER_BY_LAW | {"gr_nrm", "it_nrm", "de_legal_aid"}
_IMMIGRATION = only(
    "immigration sees nationality and minority only", checks.immigration_minimum, {"gr_immigration"}
)


@dataclass(frozen=True)
class Sent:
    """One event an agency sends, with a line of narration (and the refusal it must get)."""

    agency: str
    event: dict[str, Any]
    caption: str
    refusal: str | None = None


@dataclass(frozen=True)
class Step:
    """A step of the story: what is sent, and what must hold afterwards."""

    title: str
    sends: list[Sent]
    checks: list[Check] = field(default_factory=list)
    withdrawal: bool = False
    #: After the step, this agency asks for her disclosure report (Art. 15).
    disclosure_by: str | None = None


def story(case: CtdcCase, subject: str, start: datetime) -> list[Step]:
    """The eight steps, built from a CTDC record and synthetic personal data."""
    ev = StoryEvents(subject, start, random.Random(2026))
    first = ev.identified(case, 0)
    return [
        Step(
            "1 · Identified in Greece by an NGO",
            [Sent("gr_ngo", first, "identifies her at a farm (date of birth typed wrong)")],
            [only("only the identifying NGO has her", checks.sees_subject, {"gr_ngo"})],
        ),
        Step(
            "2 · She consents to sharing",
            [
                Sent(
                    "gr_ngo",
                    ev.granted(1),
                    "records her consent (7 agencies, 3 countries): her record is shared",
                ),
                Sent("gr_ngo", ev.corrected(first["id"], 2), "corrects her date of birth"),
                Sent(
                    "de_labour",
                    ev.self_grant(3),
                    "tries to grant itself access",
                    "not_entitled_to_grant",
                ),
            ],
            [
                only("the consented agencies see her", checks.sees_subject, _CONSENTED),
                only("her name only where policy allows", checks.reads_name, _NAME_READERS),
                only(
                    "her corrected date of birth",
                    checks.reads_correct_birth_date,
                    _NAME_READERS,
                ),
                only("the wrong date of birth nowhere", checks.reads_wrong_birth_date, ()),
                _IMMIGRATION,
            ],
        ),
        Step(
            "3 · Critical risk assessed by the Greek police",
            [Sent("gr_police", ev.critical_risk(4), "assesses critical risk")],
            [
                only("critical risk known", checks.sees_critical, _CONSENTED - {"gr_immigration"}),
                only("risk notes readable", checks.reads_notes, {"gr_police", "gr_nrm", "it_nrm"}),
                _IMMIGRATION,
            ],
        ),
        Step(
            "4 · Emergency shelter placement in Italy",
            [Sent("it_shelter", ev.placement(24), "takes her in (address is confidential)")],
            [
                only("shelter address readable", checks.reads_location, cast.LOCATION_READERS),
                only("placement known", checks.sees_placement, cast.LOCATION_READERS | {"gr_ngo"}),
                _IMMIGRATION,
            ],
        ),
        Step(
            "5 · Protective order, recognised in Italy and Greece",
            [Sent("it_court", ev.order(72), "issues a no-contact order")],
            [
                only("the order is held", checks.holds_order, _ORDER_HOLDERS),
                only("respondent readable", checks.reads_respondent, _ORDER_HOLDERS),
                only(
                    "order without a subject row",
                    checks.order_without_subject,
                    {"it_police", "it_court"},
                ),
            ],
        ),
        Step(
            "6 · Partial withdrawal: not the Greek police",
            [Sent("it_shelter", ev.withdraw_police(120), "records her withdrawal for gr_police")],
            [
                only("the others keep her", checks.sees_subject, _CONSENTED - {"gr_police"}),
                only("the order stays (legal obligation)", checks.holds_order, _ORDER_HOLDERS),
            ],
            withdrawal=True,
            disclosure_by="de_legal_aid",
        ),
        Step(
            "7 · Full withdrawal with erasure",
            [Sent("de_legal_aid", ev.withdraw_all(200), "withdraws everything, asks erasure")],
            [
                only("only vital-interest risk stays", checks.sees_subject, {"gr_nrm"}),
                only("her name readable nowhere", checks.reads_name, ()),
                only("shelter address readable nowhere", checks.reads_location, ()),
                only("orders kept by law", checks.holds_order, cast.ORDER_BY_LAW),
                only("respondent still readable", checks.reads_respondent, cast.ORDER_BY_LAW),
            ],
            withdrawal=True,
        ),
        Step(
            "8 · Afterwards: the NGO records a new assessment",
            [Sent("gr_ngo", ev.later_risk(240), "records a follow-up (new key epoch)")],
            [
                only("only its producer receives it", checks.reads_notes, {"gr_ngo"}),
                only("and the rule-3 row stays", checks.sees_subject, {"gr_ngo", "gr_nrm"}),
            ],
        ),
    ]


def story_start(now: datetime) -> datetime:
    """The case began twelve days ago, so the order is valid today."""
    return now - timedelta(days=12)
