"""The caller's view of one subject and its timeline (both written to the access log)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, status

from projectors.readmodels.builtin.subjects import Subjects
from projectors.readmodels.builtin.timeline import Timeline
from services.api.auth import Caller
from services.api.context import ApiContext
from services.api.db.agency import read_logged
from services.api.db.opening import open_sealed
from services.api.deps import DEFAULT_PAGE, CallerDep, ContextDep, Cursor, Limit, SubjectPath
from services.api.listing import page_rows
from services.api.models import Page, Problem, row_model

router = APIRouter(tags=["subjects"])
SUBJECT_PATH = "/v1/subjects/{subject_id}"
SUBJECTS, TIMELINE = Subjects.table, Timeline.table
SubjectView = row_model("SubjectView", SUBJECTS)
TimelineEntry = row_model("TimelineEntry", TIMELINE)
_ONE_SUBJECT = (
    f"SELECT {', '.join(c.name for c in SUBJECTS.columns)}"  # noqa: S608 - column names
    " FROM {schema}.subjects WHERE subject_id = %(subject)s"
)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "never seen, not permitted, or erased"}
}


def _not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail={"reason": "not_found", "errors": []})


@router.get(SUBJECT_PATH, response_model=SubjectView, responses=NOT_FOUND)
async def subject_view(subject_id: SubjectPath, caller: CallerDep, context: ContextDep) -> Any:
    """What the caller may see of one subject; personal fields opened only here.

    One round trip on the event loop, the read under the caller's role and
    its access-log row in one transaction, and a second only for the
    subject's keys the cache does not hold.
    """
    return await subject_answer(context, caller, subject_id)


async def subject_answer(context: ApiContext, caller: Caller, subject_id: str) -> Any:
    """The caller's row of the subject with its fields opened, once the read is in the
    access log; 404 if the caller has no row (see :func:`subject_view`)."""
    params = {"subject": subject_id}
    rows = await read_logged(context.reader, caller, _ONE_SUBJECT, params, "subject")
    if not rows:
        raise _not_found()
    return (await open_sealed(context.core, context.keyring, rows))[0]


@router.get(
    "/v1/subjects/{subject_id}/timeline",
    response_model=Page[TimelineEntry],  # type: ignore[valid-type]
    responses=NOT_FOUND,
)
async def subject_timeline(
    subject_id: SubjectPath,
    caller: CallerDep,
    context: ContextDep,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_PAGE,
) -> Any:
    """The events the caller received about the subject, oldest first."""
    query = sa.select(TIMELINE).where(TIMELINE.c.subject_id == subject_id)
    order = (TIMELINE.c.time, TIMELINE.c.event_id)
    # Logged with its rows in one transaction; a later page is logged even when empty.
    log = ("timeline", () if cursor is None else (subject_id,))
    rows, next_cursor = await page_rows(context, caller, query, order, (cursor, limit), log)
    if not rows and cursor is None:
        raise _not_found()  # nothing found, nothing logged
    items = [{c.name: row[c.name] for c in TIMELINE.columns} for row in rows]
    return {"items": items, "next_cursor": next_cursor}
