"""What the delivery rules read of the policy alone, looked up once (pure)."""

from __future__ import annotations

from projectors.consent.recipients import family_fields
from projectors.consent.tables import PolicyTables
from projectors.policy.loader import default_policy_path, load_policy

POLICY = load_policy(default_policy_path())


def _denied_one_by_one(tables: PolicyTables, family: str, agency_type: str) -> frozenset[str]:
    fields = frozenset(family_fields(POLICY)[family])
    for prohibition in POLICY.prohibitions:
        if agency_type in prohibition.agency_types:
            for selection in prohibition.deny:
                if selection.family == family:
                    fields -= tables.select(selection)
    return frozenset(family_fields(POLICY)[family]) - fields


def test_lookups_match_the_policy_walked_each_time() -> None:
    tables = PolicyTables(POLICY, family_fields(POLICY))
    denied_somewhere = False
    for family, spec in POLICY.families.items():
        for event_type in spec.event_types:
            assert tables.family_of(event_type) == POLICY.family_of(event_type) == family
        confidential = [c for c in POLICY.confidential_fields if c.family == family]
        assert list(tables.confidential_of(family)) == confidential
        for agency_type in POLICY.agency_types:
            denied = tables.denied(family, agency_type)
            assert denied == _denied_one_by_one(tables, family, agency_type)
            assert tables.denied(family, agency_type) is denied  # kept, not recomputed
            denied_somewhere = denied_somewhere or bool(denied)
    assert denied_somewhere  # the default policy prohibits something
    assert tables.family_of("haven.no.such.type.v1") is None
