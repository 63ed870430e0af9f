"""Generated requests from outside tools against the live server.

hypothesis-graphql writes GraphQL operations from the served schema, for every Query and Mutation
field, and schemathesis writes REST requests from the OpenAPI document of the REST façade. No
response may be an HTTP 5xx or carry an error with code INTERNAL, and every REST response must
match the document.

The operation counts below are the short run of the normal suite. scripts/fuzz.sh sets
CONNECT_GATEWAY_FUZZ_OPERATIONS and CONNECT_GATEWAY_FUZZ_REST_CASES for the long run.
"""

import math
import os
from datetime import UTC
from typing import Any

import httpx
import hypothesis_graphql
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from schemathesis.checks import not_a_server_error, response_schema_conformance

from resolvers.ids import new_id
from schema.schema import schema
from tests.conftest import Tenant
from tests.test_rest_facade import PATH, openapi_document
from tests.test_tenancy import create_holdings

GRAPHQL_OPERATIONS = int(os.environ.get("CONNECT_GATEWAY_FUZZ_OPERATIONS", "150"))
# NOTE: schemathesis 4.32 takes about 0.8 s to generate one REST body from this document, so the
# short run keeps 50 cases (under a minute per backend) and the long run does more.
REST_CASES = int(os.environ.get("CONNECT_GATEWAY_FUZZ_REST_CASES", "50"))

GRAPHQL_SCHEMA = schema._schema
ROOT_FIELDS = [("query", name) for name in GRAPHQL_SCHEMA.query_type.fields] + [
    ("mutation", name) for name in GRAPHQL_SCHEMA.mutation_type.fields
]


def root_field(root: str, name: str) -> Any:
    root_type = GRAPHQL_SCHEMA.query_type if root == "query" else GRAPHQL_SCHEMA.mutation_type
    return root_type.fields[name]


def fuzz_settings(examples: int) -> settings:
    # The live server fixture lives for the whole session, so Hypothesis's function-scoped
    # fixture check does not apply, and requests take longer than Hypothesis's default deadline.
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def scalar_strategies(known_ids: list[str]) -> dict[str, st.SearchStrategy]:
    """Return value strategies for the custom scalars, mostly ids that exist so resolvers go deep."""
    ulids = st.one_of(st.sampled_from(known_ids), st.builds(new_id), st.text(max_size=30))
    timestamps = st.datetimes(timezones=st.just(UTC)).map(lambda value: value.isoformat())
    return {
        "ULID": ulids.map(nodes.String),
        "DateTime": st.one_of(timestamps, st.text(max_size=30)).map(nodes.String),
    }


def internal_errors(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return []
    return [error for error in body.get("errors") or [] if (error.get("extensions") or {}).get("code") == "INTERNAL"]


@pytest.fixture
def known_ids(tenant: Tenant, other_tenant: Tenant) -> list[str]:
    """Create connectors for two organisations and return their ids for the fuzzer to use."""
    mine = create_holdings(tenant, "A")
    theirs = create_holdings(other_tenant, "B")
    return [tenant.organisation_id, other_tenant.organisation_id, *mine.node_ids(), *theirs.node_ids()]


@pytest.mark.parametrize("mode", [hypothesis_graphql.Mode.POSITIVE, hypothesis_graphql.Mode.NEGATIVE], ids=["valid", "invalid"])
def test_graphql_fuzz_no_server_errors(tenant: Tenant, known_ids: list[str], mode: hypothesis_graphql.Mode) -> None:
    # Valid documents get most of the budget because they reach the resolvers.
    share = 0.8 if mode == hypothesis_graphql.Mode.POSITIVE else 0.2
    custom_scalars = scalar_strategies(known_ids)
    # Invalid documents break arguments, so fields without arguments (protocols, categories)
    # have nothing to break and hypothesis-graphql raises InvalidArgument for them.
    targets = [(root, name) for root, name in ROOT_FIELDS if mode == hypothesis_graphql.Mode.POSITIVE or root_field(root, name).args]
    goal = int(GRAPHQL_OPERATIONS * share)
    sent: list[str] = []

    def fuzz_field(root: str, field_name: str, examples: int) -> int:
        """Send up to `examples` generated operations on one root field and return how many were sent."""
        build = hypothesis_graphql.queries if root == "query" else hypothesis_graphql.mutations
        strategy = build(GRAPHQL_SCHEMA, fields=[field_name], custom_scalars=custom_scalars, mode=mode)
        before = len(sent)

        @fuzz_settings(examples)
        @given(document=strategy)
        def send(document: str) -> None:
            sent.append(field_name)
            response = tenant.post(document)
            assert response.status_code < 500, f"{response.status_code} for {document!r}: {response.text[:2000]}"
            body = response.json()
            assert not internal_errors(body), f"INTERNAL for {document!r}: {body}"

        send()
        return len(sent) - before

    # Hypothesis stops early on a field with few distinct documents, such as `categories`. Such a
    # field leaves the rotation, and later rounds share what it left among the other fields.
    open_fields = list(targets)
    while len(sent) < goal and open_fields:
        per_field = max(1, math.ceil((goal - len(sent)) / len(open_fields)))
        open_fields = [(root, name) for root, name in open_fields if fuzz_field(root, name, per_field) >= per_field]

    assert set(sent) == {name for _, name in targets}
    assert len(sent) >= goal


def string_discriminator_mappings(node: Any) -> None:
    """Rewrite `discriminator.mapping` values written as {"$ref": ...} objects to the ref strings.

    OpenAPI 3.1 defines `mapping` as a map from string to string (a schema name or reference),
    and schemathesis 4.32 raises TypeError on the object form that the document uses. The
    jsonschema validator of the REST tests ignores `discriminator`, so they need no such change.
    """
    if isinstance(node, dict):
        mapping = (node.get("discriminator") or {}).get("mapping") or {}
        for key, value in mapping.items():
            if isinstance(value, dict):
                mapping[key] = value["$ref"]
        for child in node.values():
            string_discriminator_mappings(child)
    elif isinstance(node, list):
        for child in node:
            string_discriminator_mappings(child)


def rest_schema(base_url: str) -> Any:
    """Load the REST façade's OpenAPI document, pointed at the live server."""
    document = openapi_document()
    string_discriminator_mappings(document)
    loaded = schemathesis.openapi.from_dict(document)
    loaded.config.update(base_url=base_url + PATH.split("/o/")[0])
    return loaded


def test_rest_fuzz_matches_document(tenant: Tenant) -> None:
    operation = rest_schema(tenant.server.url)["/o/{organisation_id}/protocols/http/connectors"]["POST"]
    headers = {"Authorization": f"Bearer {tenant.api_key}"}
    # Most cases use the caller's organisation so that the body reaches validation and storage.
    # Each strategy is built once, because building one converts the whole document again.
    own, lower_case, unknown = (
        operation.as_strategy(path_parameters={"organisation_id": organisation_id})
        for organisation_id in (tenant.organisation_id, tenant.organisation_id.lower(), new_id())
    )
    statuses: list[int] = []

    @fuzz_settings(REST_CASES)
    @given(case=st.one_of(own, own, own, own, lower_case, unknown))
    def send(case: Any) -> None:
        response = case.call(headers=headers)
        statuses.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance], headers=headers)

    send()

    assert len(statuses) >= REST_CASES
