"""Registered agencies, indexed by type and by jurisdiction: pure.

Deciding an event's recipients looks only at the agencies that a grant or a
lawful basis could cover (:meth:`AgencyIndex.matching`), not at every
registered agency: with hundreds of agencies, checking each one for each
event was a third of the engine's time.  The index only narrows the search;
the rules themselves (``Grant.covers``, the lawful bases) still decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from projectors.consent.ledger import AgencyProfile


class AgencyIndex(Mapping[str, AgencyProfile]):
    """Agency profiles by id, also reachable by type and by jurisdiction."""

    def __init__(self, profiles: Iterable[AgencyProfile] = ()) -> None:
        self._by_id: dict[str, AgencyProfile] = {}
        self._by_type: dict[str, dict[str, AgencyProfile]] = {}
        self._by_jurisdiction: dict[str, dict[str, AgencyProfile]] = {}
        for profile in profiles:
            self.add(profile)

    @classmethod
    def of(cls, agencies: Mapping[str, AgencyProfile]) -> AgencyIndex:
        """``agencies`` itself if it is an index, else an index of its profiles."""
        return agencies if isinstance(agencies, AgencyIndex) else cls(agencies.values())

    def add(self, profile: AgencyProfile) -> None:
        """Register ``profile``, replacing an earlier profile of the same id."""
        old = self._by_id.get(profile.id)
        if old is not None:
            self._by_type[old.agency_type].pop(old.id, None)
            self._by_jurisdiction[old.jurisdiction].pop(old.id, None)
        self._by_id[profile.id] = profile
        self._by_type.setdefault(profile.agency_type, {})[profile.id] = profile
        self._by_jurisdiction.setdefault(profile.jurisdiction, {})[profile.id] = profile

    def __getitem__(self, agency_id: str) -> AgencyProfile:
        return self._by_id[agency_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def matching(
        self,
        ids: frozenset[str] = frozenset(),
        types: frozenset[str] = frozenset(),
        jurisdictions: frozenset[str] = frozenset(),
    ) -> Iterator[AgencyProfile]:
        """The agencies that every non-empty selector matches (all, if none is given),
        found through the narrowest index the selectors allow."""
        pool: Iterable[AgencyProfile]
        if ids:
            pool = (self._by_id[i] for i in ids if i in self._by_id)
        elif types and (not jurisdictions or len(types) <= len(jurisdictions)):
            pool = (p for t in types for p in self._by_type.get(t, {}).values())
        elif jurisdictions:
            pool = (p for j in jurisdictions for p in self._by_jurisdiction.get(j, {}).values())
        else:
            pool = self._by_id.values()
        for profile in pool:
            if types and profile.agency_type not in types:
                continue
            if jurisdictions and profile.jurisdiction not in jurisdictions:
                continue
            yield profile


__all__ = ["AgencyIndex"]
