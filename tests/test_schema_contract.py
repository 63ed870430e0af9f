"""The served schema contains the contract, and the committed schema.graphql matches it."""

from pathlib import Path

import httpx
from graphql import build_client_schema, build_schema, get_introspection_query, lexicographic_sort_schema, print_schema

from schema.schema import schema
from tests.conftest import LiveServer, Tenant
from tests.contract import contract_problems

PROJECT = Path(__file__).resolve().parent.parent
CONTRACT = PROJECT / "tests" / "fixtures" / "contract.graphql"
# Extends the contract with the connector lifecycle, so both files are checked together.
LIFECYCLE_CONTRACT = PROJECT / "tests" / "fixtures" / "lifecycle-contract.graphql"
COMMITTED_SDL = PROJECT / "schema.graphql"


def served_schema(tenant: Tenant):
    response = tenant.post(get_introspection_query(input_value_deprecation=True, one_of=True))
    assert response.status_code == 200, response.text
    return build_client_schema(response.json()["data"])


def test_served_schema_contains_contract(tenant: Tenant) -> None:
    problems = contract_problems(CONTRACT.read_text(), served_schema(tenant))

    assert problems == []


def lifecycle_contract() -> str:
    return CONTRACT.read_text() + "\n" + LIFECYCLE_CONTRACT.read_text()


def test_served_schema_contains_lifecycle_contract(tenant: Tenant) -> None:
    problems = contract_problems(lifecycle_contract(), served_schema(tenant))

    assert problems == []


def test_lifecycle_check_detects_drift() -> None:
    renamed = schema.as_str().replace("  unpublishConnectorVersion(", "  unpublishVersion(")
    narrowed = schema.as_str().replace("  categories: [Category!]!\n", "  categories: [Category!]\n")

    assert contract_problems(lifecycle_contract(), build_schema(renamed)) == ["Mutation.unpublishConnectorVersion: missing"]
    assert "Connector.categories: type [Category!], contract [Category!]!" in contract_problems(lifecycle_contract(), build_schema(narrowed))


def test_contract_check_detects_extra_required_argument() -> None:
    extended = schema.as_str().replace("connector(organisationId: ULID!, id: ULID!)", "connector(organisationId: ULID!, id: ULID!, extra: Int!)")

    assert contract_problems(CONTRACT.read_text(), build_schema(extended)) == ["Query.connector(extra): extra required argument"]


def test_contract_check_allows_optional_list_input() -> None:
    extended = schema.as_str().replace("input CredentialFilter {", "input CredentialFilter {\n  kinds: [String!]")

    assert contract_problems(CONTRACT.read_text(), build_schema(extended)) == []


def test_contract_check_detects_drift() -> None:
    narrowed = schema.as_str().replace("hasNextPage: Boolean!", "hasNextPage: Boolean")

    problems = contract_problems(CONTRACT.read_text(), build_schema(narrowed))

    assert problems == ["PageInfo.hasNextPage: type Boolean, contract Boolean!"]


def test_committed_sdl_matches_served(tenant: Tenant) -> None:
    served = print_schema(lexicographic_sort_schema(served_schema(tenant)))
    committed = print_schema(lexicographic_sort_schema(build_schema(COMMITTED_SDL.read_text())))

    assert served == committed, "schema.graphql is stale: run `connect-gateway export-schema > schema.graphql`"


def test_export_schema_matches_committed() -> None:
    assert schema.as_str() + "\n" == COMMITTED_SDL.read_text()


def test_unauthenticated_introspection_is_refused(server: LiveServer, http: httpx.Client) -> None:
    response = http.post(server.graphql_url, json={"query": "{ __typename }"})

    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
