"""Errors as RFC 9457 problem documents (``application/problem+json``).

Every refusal carries the standard ``type``, ``title`` and ``status`` members
and keeps Haven's own ``reason`` (machine-readable) and ``errors`` (field
paths with fixed messages, never input values).
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse

from services.api.models import Problem

PROBLEM_JSON = "application/problem+json"


def problem_response(
    status: int, problem: Problem, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """``problem`` as an RFC 9457 document with ``status`` and its title."""
    body = problem.model_dump(exclude_none=True) | {
        "status": status,
        "title": HTTPStatus(status).phrase,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def document_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Declare every 4xx/5xx response's JSON body as ``application/problem+json``."""
    for item in openapi.get("paths", {}).values():
        for operation in item.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if str(code)[0] in "45" and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
    return openapi
