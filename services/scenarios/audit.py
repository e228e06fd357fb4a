"""A CTDC-driven scenario for audit tests and the audit bench, on an :class:`EngineRig`.

Subjects from the CTDC records are identified, granted consent (some grants
expire), assessed, placed and protected by orders; some get a later grant
for legal aid (which shares their record) and a corrected identification;
agencies register a third of the way in, the policy changes half-way, and
some subjects withdraw all consent with ``erase_personal_data: true``.
Same seed, same log.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from projectors.policy.loader import default_policy_path, load_policy_text
from projectors.testing.engine_rig import EngineRig
from services.scenarios.builders import identification, placement_started, risk_assessment
from services.scenarios.ctdc import CtdcCase

FIRST_AGENCIES = [
    ("gr_ngo", "ngo", "GR"),
    ("gr_coord", "coordinator", "GR"),
    ("it_police", "police", "IT"),
    ("gr_cp", "child_protection", "GR"),
    ("gr_court", "court", "GR"),
]
LATER_AGENCIES = [
    ("it_shelter", "shelter", "IT"),
    ("ro_health", "health", "RO"),
    ("gr_legal", "legal_aid", "GR"),
]
HOMES = ["gr_ngo", "gr_coord"]


@dataclass
class ScenarioLog:
    """What the scenario produced, for assertions."""

    events: int = 0
    erased_subjects: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    policy_digest: str = ""


def changed_policy(rig: EngineRig) -> tuple[str, str]:
    """Store a second policy version (health also sees gender); returns (version, digest)."""
    source = default_policy_path().read_text(encoding="utf-8")
    version = "2026.11.1-audit"
    source = source.replace('policy_version: "2026.11.1"', f'policy_version: "{version}"')
    source = source.replace(
        "{family: identification, fields: [languages, is_minor, age_band]}",
        "{family: identification, fields: [languages, is_minor, age_band, gender]}",
    )
    policy = load_policy_text(source, "<audit scenario policy>")
    with rig.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO haven_core.policies (digest, policy_version, document)"
                " VALUES (:d, :v, :doc) ON CONFLICT DO NOTHING"
            ),
            {"d": policy.digest, "v": policy.policy_version, "doc": policy.canonical_json()},
        )
    return policy.policy_version, policy.digest


def build_scenario(
    rig: EngineRig,
    cases: list[CtdcCase],
    events: int,
    *,
    seed: int = 7,
    run_every: int = 500,
    apply: bool = True,
) -> ScenarioLog:
    """Append about ``events`` events to the rig's log, applying as it goes (unless not
    ``apply``: then the log is only built, e.g. to feed a broker)."""
    rng = random.Random(seed)
    out = ScenarioLog()
    for agency_id, kind, country in FIRST_AGENCIES:
        rig.register(agency_id, kind, country)
    base = datetime(2026, 3, 1, tzinfo=UTC)
    subjects = max(events // 8, 4)
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(subjects)]
    homes = {s: HOMES[i % len(HOMES)] for i, s in enumerate(ids)}
    steps: dict[str, int] = dict.fromkeys(ids, 0)
    grants: dict[str, str] = {}
    firsts: dict[str, str] = {}
    later_done = policy_done = False
    for n in range(events):
        if not later_done and n >= events // 3:
            for agency_id, kind, country in LATER_AGENCIES:
                rig.register(agency_id, kind, country)
            later_done = True
        if not policy_done and n >= events // 2:
            version, digest = changed_policy(rig)
            rig.system("haven.policy.activated.v1", {"policy_version": version, "digest": digest})
            out.policy_digest, policy_done = digest, True
        subject = ids[n % subjects]
        at = base + timedelta(minutes=n)
        _step(
            rig,
            rng,
            out,
            subject,
            homes[subject],
            steps[subject],
            (grants, firsts),
            cases[n % len(cases)],
            at,
        )
        steps[subject] += 1
        out.events = len(rig.log)
        if apply and n % run_every == run_every - 1:
            rig.run()
    if apply:
        rig.run()
    out.subjects = ids
    return out


def _step(
    rig: EngineRig,
    rng: random.Random,
    out: ScenarioLog,
    subject: str,
    home: str,
    step: int,
    known: tuple[dict[str, str], dict[str, str]],
    case: CtdcCase,
    at: datetime,
) -> None:
    grants, firsts = known

    def send(agency: str, event_type: str, data: dict[str, Any], country: str = "GR") -> str:
        return rig.publish(agency, event_type, data, subject=subject, jurisdiction=country, time=at)

    if step == 0:
        firsts[subject] = send(home, "haven.victim.identified.v1", identification(case, rng, at))
    elif step == 1:
        consent_id = str(uuid.UUID(int=rng.getrandbits(128)))
        grants[subject] = consent_id
        grant: dict[str, Any] = {
            "consent_id": consent_id,
            "granted_at": at.isoformat(),
            "recipients": {"agency_types": ["coordinator", "police", "shelter", "health"]},
            "purposes": ["care", "protection", "investigation"],
        }
        if rng.random() < 0.2:
            grant["expires_at"] = (at + timedelta(days=30)).isoformat()
        send(home, "haven.consent.granted.v1", grant)
    elif step == 4 and rng.random() < 0.15 and subject in grants:
        rig.system(
            "haven.consent.expired.v1",
            {"consent_id": grants.pop(subject), "expired_at": at.isoformat()},
            subject=subject,
        )
    elif step == 6 and (rng.random() < 0.1 or not out.erased_subjects):
        withdrawal = {"withdrawn_at": at.isoformat(), "scope": "all", "erase_personal_data": True}
        send(home, "haven.consent.withdrawn.v1", withdrawal)
        out.erased_subjects.append(subject)
    elif step == 5 and rng.random() < 0.3:
        later = {
            "consent_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "granted_at": at.isoformat(),
            "recipients": {"agency_types": ["legal_aid"]},
            "purposes": ["legal_assistance"],
        }
        send(home, "haven.consent.granted.v1", later)
    elif step == 7 and rng.random() < 0.3 and subject in firsts:
        fixed = {"full_name": f"Corrected {rng.randint(1, 999)}", "date_of_birth": "2000-01-01"}
        correction = {"target_event_id": firsts[subject], "fields": {"personal": fixed}}
        send(home, "haven.record.rectified.v1", correction | {"reason": "wrong_fact"})
    elif step % 5 == 3:
        send("gr_court", "haven.protective-order.issued.v1", _order(rng, at))
    elif step % 3 == 2:  # refused when the home is the NGO: not the shelter, no coordinator
        send(home, "haven.shelter.placement-started.v1", placement_started(rng, at, "gr_coord"))
    else:
        send(home, "haven.risk.assessed.v1", risk_assessment(rng, at))


def _order(rng: random.Random, at: datetime) -> dict[str, Any]:
    return {
        "order_id": str(uuid.UUID(int=rng.getrandbits(128))),
        "issued_at": at.isoformat(),
        "issuing_jurisdiction": "GR",
        "order_type": "no_contact",
        "valid_from": at.isoformat(),
        "valid_until": (at + timedelta(days=365)).isoformat(),
        "recognized_in": ["IT"],
        "respondent": {"name": f"Respondent {rng.randint(1, 999)}"},
    }
