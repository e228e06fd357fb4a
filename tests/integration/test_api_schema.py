"""Schemathesis against ``/openapi.json`` on the real stack, with a valid token.

Every operation the schema declares is fuzzed with positive and negative
cases (schemathesis 4 strategies driven by Hypothesis).  Requests go through
the rig's own TestClient, so the app runs on the event loop its Kafka
clients were started on.  Each response must not be a server error and must
conform to the schema: declared status code, content type, headers, body.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
import requests
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.endpoints import Endpoints
from services.api.app import create_app
from services.api.context import ApiContext
from tests.integration.api_rig import (
    ApiStack,
    beating_api_stack,
    event,
    eventually,
    grant,
    identification,
)
from tests.integration.api_rig import risk as risk_data

pytestmark = [
    pytest.mark.integration,
    # schemathesis' own strategies use `random`; Hypothesis warns about it on every run.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]
BASE_URL = "http://testserver"
#: A generated case of one of the served operations (schemathesis leaves them untyped).
OperationCase = Case[APIOperation[Any, Any, Any, Any]]
CALLERS = ("gr_coord", "gr_audit")


def _operations() -> list[str]:
    """Every operation the app declares (the context is not needed to build the schema)."""
    document = create_app(cast(ApiContext, None)).openapi()
    return [f"{m.upper()} {path}" for path, item in document["paths"].items() for m in item]


OPERATIONS = _operations()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
#: A negative case is rejected with one of schemathesis' default codes, or 413: a batch
#: over ``maxItems`` can also be over the 1 MiB body limit, refused before it is read.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [*REJECTED, "5xx"]}}}
)
_REQUEST_KEYS = ("method", "url", "headers", "files", "data", "params", "auth", "cookies", "json")
FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def stack(infra: Endpoints) -> Iterator[ApiStack]:
    """The real pipeline and API on a fresh database, for the whole module."""
    with beating_api_stack(infra) as running:
        yield running


@pytest.fixture(scope="module")
def subject(stack: ApiStack) -> str:
    """A subject shared with the coordinator, with a risk entry and access-log rows."""
    shared = str(uuid.uuid4())
    batch = [
        event("gr_ngo", "haven.consent.granted.v1", shared, grant(["gr_coord"], ["care"])),
        event("gr_ngo", "haven.victim.identified.v1", shared, identification()),
        event("gr_ngo", "haven.risk.assessed.v1", shared, risk_data("critical")),
    ]
    response = stack.post("gr_ngo", batch)
    assert response.status_code == 202, response.text
    eventually(lambda: stack.get("gr_coord", f"/v1/subjects/{shared}").status_code == 200)
    eventually(lambda: len(stack.get("gr_coord", "/v1/risk-register").json()["items"]) == 1)
    eventually(lambda: stack.client.get("/v1/health").status_code == 200)
    return shared


@pytest.fixture(scope="module")
def schema(stack: ApiStack) -> Any:
    """The schema the running app serves at ``/openapi.json``."""
    document = stack.client.get("/openapi.json")
    assert document.status_code == 200
    return schemathesis.openapi.from_dict(document.json(), config=CONFIG)


def _send(client: TestClient, case: OperationCase) -> httpx.Response:
    """The case as schemathesis would send it (requests' encoding), through ``client``."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    request = requests.Request(**{k: kwargs[k] for k in _REQUEST_KEYS if k in kwargs}).prepare()
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    # ``TestClient``'s base class is untyped here (starlette types it against httpx2).
    return cast(
        httpx.Response,
        client.request(
            str(request.method), str(request.url), headers=headers, content=request.body
        ),
    )


def _fixed_bodies(caller: str, subject: str) -> list[tuple[str, Any]]:
    """An event the gateway accepts (202), a foreign one (403) and a batch of both."""
    own = event(caller, "haven.risk.assessed.v1", subject, risk_data("high"))
    foreign = event("gr_ngo", "haven.risk.assessed.v1", subject, risk_data("high"))
    return [
        ("application/cloudevents+json", own),
        ("application/json", foreign),
        ("application/cloudevents-batch+json", [own, foreign]),
    ]


def _strategy(
    operation: Any, caller: str, token: str, subject: str
) -> st.SearchStrategy[OperationCase]:
    """Positive and negative cases, plus the seeded subject and well-formed events."""
    headers = {"Authorization": f"Bearer {token}"}
    options = [
        operation.as_strategy(GenerationMode.POSITIVE, headers=headers),
        operation.as_strategy(GenerationMode.NEGATIVE, headers=headers),
    ]
    if "{subject_id}" in operation.path:
        known = {"subject_id": subject}
        options.append(operation.as_strategy(headers=headers, path_parameters=known))
    if operation.method.upper() == "POST":
        options += [
            operation.as_strategy(headers=headers, body=body, media_type=media_type)
            for media_type, body in _fixed_bodies(caller, subject)
        ]
    return st.one_of(options)


def test_every_served_operation_is_fuzzed(schema: Any) -> None:
    labels = {result.ok().label for result in schema.get_all_operations()}
    assert labels == set(OPERATIONS)
    assert len(labels) >= 11


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_conforms_to_schema(
    stack: ApiStack, schema: Any, subject: str, caller: str, label: str
) -> None:
    """No 5xx and no response outside the schema, for random valid and invalid input."""
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label

    @FUZZ
    @given(case=_strategy(operation, caller, stack.pipeline.tokens[caller], subject))
    def fuzz(case: OperationCase) -> None:
        case.validate_response(_send(stack.client, case), checks=CHECKS)

    fuzz()
