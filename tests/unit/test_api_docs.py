"""docs/api.md and the OpenAPI document cover every route the app serves."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from services.api.app import create_app
from services.api.context import ApiContext

DOC = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")


def test_every_route_of_the_openapi_document_is_in_docs_api_md() -> None:
    document = create_app(cast(ApiContext, None)).openapi()
    paths = set(document["paths"])
    new = {"/v1/livez", "/v1/notices", "/v1/notices/ack", "/v1/dead-letters", "/v1/webhook"}
    assert new <= paths
    assert sorted(p for p in paths if f"`{p}" not in DOC and f" {p}" not in DOC) == []


def test_every_refusal_is_documented_as_a_problem_document() -> None:
    document = create_app(cast(ApiContext, None)).openapi()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for code, response in operation["responses"].items():
                if code[0] in "45":
                    assert list(response.get("content", {})) == ["application/problem+json"], (
                        method,
                        path,
                        code,
                    )
