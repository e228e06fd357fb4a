"""The agency index finds exactly the agencies its selectors match (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from projectors.consent.agency_index import AgencyIndex
from projectors.consent.ledger import AgencyProfile, Grant

IDS = [f"a{i}" for i in range(12)]
TYPES = ["police", "ngo", "shelter", "court"]
JURISDICTIONS = ["GR", "IT", "FR"]

profiles = st.builds(
    AgencyProfile, st.sampled_from(IDS), st.sampled_from(TYPES), st.sampled_from(JURISDICTIONS)
)


def _subset(values: list[str]) -> st.SearchStrategy[frozenset[str]]:
    return st.frozensets(st.sampled_from(values), max_size=3)


@given(st.lists(profiles, max_size=30), _subset(IDS), _subset(TYPES), _subset(JURISDICTIONS))
def test_matching_is_every_agency_a_grant_with_those_selectors_covers(
    added: list[AgencyProfile],
    ids: frozenset[str],
    types: frozenset[str],
    jurisdictions: frozenset[str],
) -> None:
    index = AgencyIndex()
    latest: dict[str, AgencyProfile] = {}
    for profile in added:  # a later profile of the same id replaces the earlier one
        index.add(profile)
        latest[profile.id] = profile
    grant = Grant("c1", ids, types, jurisdictions, frozenset({"protection"}))
    found = list(index.matching(ids, types, jurisdictions))
    assert len(found) == len({p.id for p in found})
    assert set(found) == {p for p in latest.values() if grant.covers(p)}
    assert dict(index) == latest


def test_a_changed_profile_leaves_its_old_type_and_jurisdiction() -> None:
    index = AgencyIndex([AgencyProfile("a1", "police", "GR")])
    index.add(AgencyProfile("a1", "ngo", "IT"))
    assert list(index.matching(types=frozenset({"police"}))) == []
    assert list(index.matching(jurisdictions=frozenset({"GR"}))) == []
    assert list(index.matching(types=frozenset({"ngo"}))) == [AgencyProfile("a1", "ngo", "IT")]
    assert AgencyIndex.of(index) is index
