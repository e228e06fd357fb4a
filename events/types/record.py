"""Rectification (GDPR Art. 16): ``haven.record.rectified.v1``.

``fields`` holds corrected ``data`` fields of the target event: a partial of
one rectifiable type (identification, risk assessment, placement start or
end), each field typed and constrained as in its own type.  Correlation keys
(``placement_id``, ``shelter_agency``) cannot be corrected: retract the event
and send a new one.  Personal fields in ``fields`` are sealed by the sealer
with the subject's key, at the path ``data.fields.<name>``.  The engine checks
that the fields belong to the actual target's type (docs/survivor-rights.md).
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Annotated, Any, ClassVar, Final

from pydantic import StringConstraints, create_model, model_validator

from events.types.common import ContractModel, EventData, Family
from events.types.personal import Personal, sealed_variant
from events.types.risk import RiskAssessed
from events.types.shelter import PlacementEnded, PlacementStarted
from events.types.victim import VictimIdentified

#: Fields that correlate events (a placement's end with its start): never rectified.
KEY_FIELDS: Final = frozenset({"placement_id", "shelter_agency"})
#: The event types a rectification may target (orders are court acts: revoke and reissue).
RECTIFIABLE: Final[tuple[type[EventData], ...]] = (
    VictimIdentified,
    RiskAssessed,
    PlacementStarted,
    PlacementEnded,
)


#: An event id as the envelope allows it (printable ASCII, no spaces).
TargetEventId = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[!-~]+$")]


class RectificationReason(StrEnum):
    """Why a record is corrected."""

    WRONG_FACT = "wrong_fact"
    WRONG_SUBJECT = "wrong_subject"
    TYPO = "typo"
    OTHER = "other"


@cache
def partial_model(model: type[EventData], *, sealed: bool = False) -> type[ContractModel]:
    """Every non-key ``data`` field of ``model``, each optional, same types and markers."""
    source = sealed_variant(model) if sealed else model
    fields: dict[str, Any] = {}
    for name, info in source.model_fields.items():
        if name in KEY_FIELDS:
            continue
        inner: Any = info.annotation
        markers = [m for m in info.metadata if not isinstance(m, Personal)]
        personal = [m for m in info.metadata if isinstance(m, Personal)]
        if markers:
            inner = Annotated[(inner, *markers)]
        if personal:
            inner = Annotated[(inner, *personal)]
        fields[name] = (inner, None)
    suffix = "SealedFields" if sealed else "Fields"
    return create_model(
        f"{model.__name__}{suffix}",
        __base__=ContractModel,
        __module__=__name__,
        __doc__=f"Corrected fields of a {model.event_type} event (each optional).",
        **fields,
    )


def fields_union(*, sealed: bool) -> Any:
    """The type of ``fields``: a partial of one rectifiable type."""
    members = tuple(partial_model(m, sealed=sealed) for m in RECTIFIABLE)
    return members[0] | members[1] | members[2] | members[3]


class RecordRectified(EventData):
    """Corrects (or, with ``retract``, withdraws) an earlier event of the subject.

    Only the target's producer or a coordinator of the target's jurisdiction
    may rectify; every agency that received the target sees the correction
    through its own field rules.  ``retract: true`` goes with empty ``fields``.
    """

    event_type: ClassVar[str] = "haven.record.rectified.v1"
    family: ClassVar[Family] = Family.RECORD
    nested_personal: ClassVar[tuple[str, ...]] = ("fields",)

    target_event_id: TargetEventId
    fields: fields_union(sealed=False)  # type: ignore[valid-type]
    reason: RectificationReason
    retract: bool = False

    @model_validator(mode="before")
    @classmethod
    def _null_is_not_given(cls, data: Any) -> Any:
        """A ``null`` field in ``fields`` means "not corrected", exactly as an absent one.

        Dropping them before the union picks its member makes the choice depend
        only on the given fields, so an event parses to the same model before
        and after its encoding (which leaves nulls out).
        """
        if isinstance(data, dict) and isinstance(data.get("fields"), dict):
            given = {k: v for k, v in data["fields"].items() if v is not None}
            return {**data, "fields": given}
        return data

    def corrected(self) -> dict[str, Any]:
        """The corrected fields as JSON values (only those given)."""
        given: ContractModel = self.fields
        return given.model_dump(mode="json", exclude_none=True)


class RecordRectifiedSealed(RecordRectified):
    """RecordRectified as stored in the log: personal fields in ``fields`` sealed."""

    fields: fields_union(sealed=True)  # type: ignore[valid-type]


RecordRectified.log_model = RecordRectifiedSealed
