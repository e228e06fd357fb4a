"""Survivor's rights: disclosure (Art. 15), export (Art. 20), consent records (Art. 7(1)).

Only the identifying agency, or a coordinator or legal aid agency that
receives the subject's identification, may call these; others get 403.
Each answer is written to the access log.  See services/api/rights/access.py for
why disclosure and consent records read metadata on the privileged path.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status

from projectors.consent.subject_state import SubjectState
from projectors.directory.agencies import schema_name
from services.api.auth import Caller
from services.api.context import ApiContext
from services.api.db.access_log import record_reads
from services.api.db.agency import as_agency
from services.api.db.unseal import unseal
from services.api.deps import CallerDep, ContextDep, SubjectPath
from services.api.models import Problem
from services.api.rights.access import acting_state, disclosure, export_document, export_rows
from services.api.rights.consents import consent_records
from services.api.rights.models import ConsentRecord, Disclosure, Export

router = APIRouter(tags=["survivor rights"])
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {
        "model": Problem,
        "description": "not the identifying agency, nor a coordinator or legal aid holding her",
    }
}


def _entitled(context: ApiContext, caller: Caller, subject_id: str) -> SubjectState:
    state = acting_state(context.core, caller, subject_id)
    if state is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail={"reason": "forbidden", "errors": []})
    return state


@router.get("/v1/subjects/{subject_id}/disclosure", response_model=Disclosure, responses=FORBIDDEN)
def subject_disclosure(subject_id: SubjectPath, caller: CallerDep, context: ContextDep) -> Any:
    """Which agencies hold rows about her, on which basis, since when, which fields,
    who read them, what was erased or retained, corrected or shared (no values)."""
    state = _entitled(context, caller, subject_id)
    report = disclosure(context.core, caller, subject_id, state)
    record_reads(context.core, caller.agency_id, "disclosure", [subject_id])
    return report


@router.get("/v1/subjects/{subject_id}/export", response_model=Export, responses=FORBIDDEN)
def subject_export(subject_id: SubjectPath, caller: CallerDep, context: ContextDep) -> Any:
    """Everything the caller's read models hold about her, personal fields opened."""
    _entitled(context, caller, subject_id)
    with as_agency(context.reader, caller) as conn:
        rows = export_rows(conn, schema_name(caller.agency_id), subject_id)
    record_reads(context.core, caller.agency_id, "export", [subject_id])
    opened = unseal(rows, context.keyring.key)
    return export_document(subject_id, caller.agency_id, opened)


@router.get(
    "/v1/subjects/{subject_id}/consents", response_model=list[ConsentRecord], responses=FORBIDDEN
)
def subject_consents(subject_id: SubjectPath, caller: CallerDep, context: ContextDep) -> Any:
    """Her consent history as consent records: grants with evidence, withdrawals, expiries."""
    _entitled(context, caller, subject_id)
    records = consent_records(context.core, subject_id)
    record_reads(context.core, caller.agency_id, "consents", [subject_id])
    return records
