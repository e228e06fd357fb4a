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


def test_access_rules_of_a_type_and_family_with_their_purposes() -> None:
    tables = PolicyTables(POLICY, family_fields(POLICY))
    own_purposes = explicit_purposes = 0
    for agency_type, type_policy in POLICY.agency_types.items():
        for family in POLICY.families:
            found = tables.access_of(agency_type, family)
            expected = [rule for rule in type_policy.access if rule.family == family]
            assert [rule for rule, _ in found] == expected  # policy order, this family only
            for rule, purposes in found:
                assert purposes == frozenset(rule.purposes or type_policy.purposes)
                own_purposes += rule.purposes is None
                explicit_purposes += rule.purposes is not None
            assert tables.access_of(agency_type, family) is found  # kept, not recomputed
    assert own_purposes  # the default policy has rules of both kinds
    assert explicit_purposes
    assert tables.access_of("no_such_type", next(iter(POLICY.families))) == ()
