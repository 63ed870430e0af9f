"""Tenant isolation for every query field and every mutation of the served schema.

Organisation B owns a private connector (with a connection, a version draft and three credentials)
and a public connector with a published version that has a subscriber. Organisation A's API key then
reads, changes and references B's objects: by id, by `node`/`nodes` id, and inside inputs. Each
attempt must return exactly what the same request returns when every id of B is replaced by an id
that exists nowhere, and a full read of B's data must be unchanged afterwards.

`test_matrix_covers_schema` fails when a field is added to Query or Mutation without a case here.
"""

import copy
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any

import pytest
from graphql import GraphQLObjectType

from resolvers.ids import new_id
from schema.schema import schema
from tests.conftest import Tenant, without_cost
from tests.documents import CONNECTOR_TREE_FIELDS, TREE_FRAGMENTS
from tests.lifecycle_helpers import BASE_CONNECTOR, stored_secret
from tests.test_tenancy import (
    CONNECTORS_PAGE,
    CREDENTIAL,
    CREDENTIALS_PAGE,
    EMPTY_PAGE,
    NODE,
    NODES,
    OAUTH2_URLS,
    connector_input,
    create_holdings,
    reuse_credential,
    reuse_grant_client,
    use_mtls_credential,
)

GRAPHQL_SCHEMA = schema._schema
ERROR_SELECTION = "__typename ... on Error { code message details fields { field message } }"

STATE = (
    """
query State($organisationId: ULID!) {
  connectors(organisationId: $organisationId, first: 100) {
    totalCount
    nodes {"""
    + CONNECTOR_TREE_FIELDS
    + """ versions { id subscribers { product reference createdAt } } }
  }
  credentials(organisationId: $organisationId, first: 100) { totalCount nodes { ...CredentialFields } }
}
"""
    + TREE_FRAGMENTS
)

CONNECTOR = "query Connector($organisationId: ULID!, $id: ULID!) { connector(organisationId: $organisationId, id: $id) { id } }"

PUBLIC_CONNECTORS = """
query Library {
  publicConnectors(first: 100) {
    nodes { id organisationId connections { id } versions { id subscribers { product reference } } }
  }
}
"""

SUBSCRIBER = {"product": "integrations", "reference": "b-integration"}
B_ONLY_VERSION = "b-only-draft"


@dataclass(frozen=True)
class Targets:
    """The ids of B's objects that A's attempts name."""

    organisation_id: str
    connector_id: str
    connection_id: str
    link_id: str
    version_id: str
    string_credential_id: str
    certificate_credential_id: str
    client_credential_id: str
    public_connector_id: str
    public_version_id: str

    def ids(self) -> list[str]:
        return [value for key, value in asdict(self).items() if key != "organisation_id"]

    @classmethod
    def ghost(cls) -> "Targets":
        """Return targets whose ids exist nowhere, for the response an absent object gets."""
        return cls(**{item.name: new_id() for item in fields(cls)})


@dataclass(frozen=True)
class Own:
    """A's own objects, used where an attempt puts B's id inside an otherwise valid request."""

    organisation_id: str
    connector_id: str
    connection_id: str
    client_credential_id: str


@dataclass(frozen=True)
class Attempt:
    label: str
    document: str
    variables: Callable[[Own, Targets], dict[str, Any]]
    # The expected result: "null" (the field is null), "empty" (an empty page), "nulls" (a list
    # of nulls), "error" (an Error with NOT_FOUND or INVALID_ARGUMENT), "library" (the public
    # listing, checked on its own) or "same for both" (A and B get equal data).
    expect: str
    # A known isolation bug that makes this attempt fail; it then runs as a strict xfail.
    gap: str | None = None


# ---------------------------------------------------------------- documents


def mutation_document(field_name: str, argument_names: list[str]) -> str:
    """Write a document that calls one mutation with the given arguments as variables."""
    field = GRAPHQL_SCHEMA.mutation_type.fields[field_name]
    definitions = ", ".join(f"${name}: {field.args[name].type}" for name in argument_names)
    arguments = ", ".join(f"{name}: ${name}" for name in argument_names)
    return f"mutation Attempt({definitions}) {{ {field_name}({arguments}) {{ {ERROR_SELECTION} }} }}"


def mutation(field_name: str, label: str, variables: Callable[[Own, Targets], dict[str, Any]], gap: str | None = None) -> Attempt:
    """Describe a mutation attempt; the document's variables are the keys `variables` returns."""
    names = list(variables(Own("o", "c", "n", "k"), Targets.ghost()))
    return Attempt(label, mutation_document(field_name, names), variables, "error", gap)


def by_target_and_own_organisation(field_name: str, variables: Callable[[Targets], dict[str, Any]]) -> list[Attempt]:
    """Attempts that name B's object once with B's organisation id and once with A's."""
    return [
        mutation(field_name, "in B's organisation", lambda own, b: {"organisationId": b.organisation_id} | variables(b)),
        mutation(field_name, "in A's organisation", lambda own, b: {"organisationId": own.organisation_id} | variables(b)),
    ]


def oauth2_config(**overrides: Any) -> dict[str, Any]:
    config = {"id": "oauth", "description": "", **OAUTH2_URLS, "scopes": [], "defaultScopes": [], "grant": {"clientCredentials": {}}}
    return {"oauth2": config | overrides}


def client_data(mtls_credential_id: str) -> dict[str, Any]:
    return {
        "clientId": "c",
        "clientSecret": "s",
        "authorizeUrl": "",
        "tokenUrl": OAUTH2_URLS["tokenUrl"],
        "mTLSEnabled": True,
        "mTLSCredentialId": mtls_credential_id,
    }


def version_attempts(field_name: str, version: str, extra: dict[str, Any] | None = None, public: bool = False) -> list[Attempt]:
    def variables(b: Targets) -> dict[str, Any]:
        connector_id = b.public_connector_id if public else b.connector_id
        return {"connectorId": connector_id, "version": version} | (extra or {})

    return by_target_and_own_organisation(field_name, variables)


STRING_CREDENTIAL = {"name": "intruder", "data": {"string": {"value": "x"}}}
TAGS = [{"key": "owner", "values": ["intruder"]}]

MUTATION_MATRIX: dict[str, list[Attempt]] = {
    "createHTTPConnector": [
        mutation("createHTTPConnector", "in B's organisation", lambda own, b: {"organisationId": b.organisation_id, "input": connector_input("intruder")}),
        mutation("createHTTPConnector", "B's credentialId", lambda own, b: {"organisationId": own.organisation_id, "input": reuse_credential(b.string_credential_id)}),
        mutation("createHTTPConnector", "B's mtlsCredentialId", lambda own, b: {"organisationId": own.organisation_id, "input": use_mtls_credential(b.certificate_credential_id)}),
        mutation(
            "createHTTPConnector",
            "B's grant client",
            lambda own, b: {"organisationId": own.organisation_id, "input": reuse_grant_client(b.client_credential_id, b.organisation_id)},
        ),
    ],
    "updateHTTPConnector": by_target_and_own_organisation(
        "updateHTTPConnector", lambda b: {"id": b.connector_id, "input": {"name": "renamed", "baseUrl": "https://intruder.example.com"}}
    ),
    "updateConnectorTags": by_target_and_own_organisation("updateConnectorTags", lambda b: {"id": b.connector_id, "tags": TAGS}),
    "updateConnectorCategories": by_target_and_own_organisation("updateConnectorCategories", lambda b: {"id": b.connector_id, "categories": ["ERP"]}),
    "deleteConnector": [
        *by_target_and_own_organisation("deleteConnector", lambda b: {"id": b.connector_id, "force": True}),
        *by_target_and_own_organisation("deleteConnector", lambda b: {"id": b.public_connector_id, "force": True}),
    ],
    "upsertAuthSchemeConfig": [
        *by_target_and_own_organisation(
            "upsertAuthSchemeConfig", lambda b: {"connectorId": b.connector_id, "config": {"apiKey": {"id": "key", "description": "", "name": "X", "in": "HEADER"}}}
        ),
        mutation(
            "upsertAuthSchemeConfig",
            "B's mtlsCredentialId",
            lambda own, b: {
                "organisationId": own.organisation_id,
                "connectorId": own.connector_id,
                "config": oauth2_config(mtlsEnabled=True, mtlsCredentialId=b.certificate_credential_id),
            },
        ),
        mutation(
            "upsertAuthSchemeConfig",
            "B's grant client",
            lambda own, b: {
                "organisationId": own.organisation_id,
                "connectorId": own.connector_id,
                "config": oauth2_config(grant={"authorizationCode": {"credentialId": b.client_credential_id, "organisationId": b.organisation_id}}),
            },
        ),
    ],
    "deleteAuthSchemeConfig": by_target_and_own_organisation("deleteAuthSchemeConfig", lambda b: {"connectorId": b.connector_id, "id": "key"}),
    "createConnection": [
        *by_target_and_own_organisation("createConnection", lambda b: {"connectorId": b.connector_id, "input": {"name": "intruder"}}),
        *[
            mutation(
                "createConnection",
                f"B's credentialId for {purpose}",
                lambda own, b, purpose=purpose: {
                    "organisationId": own.organisation_id,
                    "connectorId": own.connector_id,
                    "input": {"name": "reuse", "credentials": {purpose: [{"authSchemeConfigId": "key", "credentialId": b.string_credential_id}]}},
                },
            )
            for purpose in ("action", "trigger")
        ],
    ],
    "updateConnection": [
        *by_target_and_own_organisation("updateConnection", lambda b: {"connectorId": b.connector_id, "id": b.connection_id, "input": {"name": "renamed"}}),
        mutation(
            "updateConnection",
            "B's connection under A's connector",
            lambda own, b: {"organisationId": own.organisation_id, "connectorId": own.connector_id, "id": b.connection_id, "input": {"name": "renamed"}},
        ),
        mutation(
            "updateConnection",
            "B's connection credential link",
            lambda own, b: {
                "organisationId": own.organisation_id,
                "connectorId": own.connector_id,
                "id": own.connection_id,
                "input": {"name": "main", "credentials": {"action": [{"id": b.link_id, "authSchemeConfigId": "key"}]}},
            },
        ),
    ],
    "deleteConnection": [
        *by_target_and_own_organisation("deleteConnection", lambda b: {"connectorId": b.connector_id, "id": b.connection_id, "force": True}),
        mutation(
            "deleteConnection",
            "B's connection under A's connector",
            lambda own, b: {"organisationId": own.organisation_id, "connectorId": own.connector_id, "id": b.connection_id, "force": True},
        ),
    ],
    "createCredential": [
        mutation("createCredential", "in B's organisation", lambda own, b: {"organisationId": b.organisation_id, "input": STRING_CREDENTIAL}),
        mutation(
            "createCredential",
            "B's mTLSCredentialId",
            lambda own, b: {
                "organisationId": own.organisation_id,
                "input": {"name": "client", "data": {"oauth2Client": client_data(b.certificate_credential_id)}},
            },
        ),
    ],
    "updateCredential": [
        *by_target_and_own_organisation("updateCredential", lambda b: {"id": b.string_credential_id, "input": {"name": "renamed", "data": {"string": {"value": "y"}}}}),
        mutation(
            "updateCredential",
            "B's mTLSCredentialId",
            lambda own, b: {
                "organisationId": own.organisation_id,
                "id": own.client_credential_id,
                "input": {"data": {"oauth2Client": {"mTLSEnabled": True, "mTLSCredentialId": b.certificate_credential_id}}},
            },
        ),
    ],
    "deleteCredential": [
        *by_target_and_own_organisation("deleteCredential", lambda b: {"id": b.string_credential_id}),
        *by_target_and_own_organisation("deleteCredential", lambda b: {"id": b.client_credential_id}),
    ],
    "createConnectorVersion": [
        *by_target_and_own_organisation("createConnectorVersion", lambda b: {"connectorId": b.connector_id, "input": {"name": "2"}}),
        mutation(
            "createConnectorVersion",
            "fromVersion only B has",
            lambda own, b: {"organisationId": own.organisation_id, "connectorId": own.connector_id, "input": {"name": "copy", "fromVersion": B_ONLY_VERSION}},
        ),
    ],
    "updateConnectorVersion": version_attempts("updateConnectorVersion", "1", {"input": {"name": "renamed"}}),
    "deleteConnectorVersion": version_attempts("deleteConnectorVersion", "1", {"force": True}) + version_attempts("deleteConnectorVersion", "1", {"force": True}, public=True),
    "publishConnectorVersion": version_attempts("publishConnectorVersion", "1"),
    "unpublishConnectorVersion": version_attempts("unpublishConnectorVersion", "1", public=True),
    "setDefaultConnectorVersion": version_attempts("setDefaultConnectorVersion", "1", public=True),
    "addConnectorSubscriber": version_attempts("addConnectorSubscriber", "1", {"subscriber": {"product": "intruder", "reference": "x"}}, public=True),
    "removeConnectorSubscriber": version_attempts("removeConnectorSubscriber", "1", {"subscriber": SUBSCRIBER}, public=True),
    "importPublicConnectorVersion": [
        mutation(
            "importPublicConnectorVersion",
            "into B's organisation",
            lambda own, b: {"organisationId": b.organisation_id, "connectorId": b.public_connector_id, "version": "1"},
        ),
        mutation(
            "importPublicConnectorVersion",
            "B's private connector",
            lambda own, b: {"organisationId": own.organisation_id, "connectorId": b.connector_id, "version": "1"},
        ),
    ],
}


def node_attempts() -> list[Attempt]:
    names = [item.name for item in fields(Targets) if item.name not in ("organisation_id", "public_connector_id")]
    return [Attempt(f"node {name}", NODE, lambda own, b, name=name: {"id": getattr(b, name)}, "null") for name in names]


QUERY_MATRIX: dict[str, list[Attempt]] = {
    "node": node_attempts() + [Attempt("node lower-case id", NODE, lambda own, b: {"id": b.connector_id.lower()}, "null")],
    "nodes": [
        Attempt(
            "nodes of B's private objects",
            NODES,
            lambda own, b: {"ids": [b.connector_id, b.connection_id, b.link_id, b.version_id, b.string_credential_id, b.certificate_credential_id, b.client_credential_id]},
            "nulls",
        )
    ],
    "connector": [
        Attempt("connector in B's organisation", CONNECTOR, lambda own, b: {"organisationId": b.organisation_id, "id": b.connector_id}, "null"),
        Attempt("connector in A's organisation", CONNECTOR, lambda own, b: {"organisationId": own.organisation_id, "id": b.connector_id}, "null"),
        Attempt("public connector in B's organisation", CONNECTOR, lambda own, b: {"organisationId": b.organisation_id, "id": b.public_connector_id}, "null"),
    ],
    "connectors": [Attempt("connectors of B", CONNECTORS_PAGE, lambda own, b: {"organisationId": b.organisation_id, "first": 100}, "empty")],
    "credential": [
        Attempt(f"credential {name} in {where}", CREDENTIAL, lambda own, b, name=name, where=where: {"organisationId": getattr(b if where == "B" else own, "organisation_id"), "id": getattr(b, name)}, "null")
        for name in ("string_credential_id", "certificate_credential_id", "client_credential_id")
        for where in ("A", "B")
    ],
    "credentials": [Attempt("credentials of B", CREDENTIALS_PAGE, lambda own, b: {"organisationId": b.organisation_id, "first": 100}, "empty")],
    "publicConnectors": [Attempt("public library", PUBLIC_CONNECTORS, lambda own, b: {}, "library")],
    # These two take no arguments and return only values built into the gateway, so they have no
    # object of B to name. The case checks that A and B get the same data.
    "protocols": [Attempt("protocols", "query { protocols { protocol name authSchemeTypes } }", lambda own, b: {}, "same for both")],
    "categories": [Attempt("categories", "query { categories }", lambda own, b: {}, "same for both")],
}

MATRIX = {("query", name): cases for name, cases in QUERY_MATRIX.items()} | {("mutation", name): cases for name, cases in MUTATION_MATRIX.items()}


def root_fields(root: GraphQLObjectType | None) -> set[str]:
    return set(root.fields) if root else set()


def test_matrix_covers_schema() -> None:
    served = {("query", name) for name in root_fields(GRAPHQL_SCHEMA.query_type)} | {
        ("mutation", name) for name in root_fields(GRAPHQL_SCHEMA.mutation_type)
    }

    assert served - set(MATRIX) == set(), "add isolation cases for these fields"
    assert set(MATRIX) - served == set(), "these matrix entries name fields the schema no longer has"
    assert all(MATRIX.values()), "every field needs at least one attempt"


# ---------------------------------------------------------------- world


@dataclass
class World:
    a: Tenant
    b: Tenant
    own: Own
    targets: Targets


def run(tenant: Tenant, document: str, variables: dict[str, Any]) -> dict[str, Any]:
    """Post a document and return the response body, which must have status 200 and no top-level errors.

    The rate-limit cost is left out: the tokens remaining change with every request. The
    objects counted in it come from the data, which the matrix compares.
    """
    response = tenant.post(document, variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return without_cost(body)


def published_public_connector(b: Tenant) -> tuple[str, str]:
    definition = copy.deepcopy(BASE_CONNECTOR) | {"name": "B public"}
    created = run(
        b,
        mutation_document("createHTTPConnector", ["organisationId", "input"]).replace(ERROR_SELECTION, ERROR_SELECTION + " ... on HTTPConnector { id versions { id } }"),
        {"organisationId": b.organisation_id, "input": definition},
    )["data"]["createHTTPConnector"]
    assert created["__typename"] == "HTTPConnector", created
    arguments = {"organisationId": b.organisation_id, "connectorId": created["id"], "version": "1"}
    for field_name, extra in (("publishConnectorVersion", {}), ("addConnectorSubscriber", {"subscriber": SUBSCRIBER})):
        result = run(b, mutation_document(field_name, list(arguments | extra)), arguments | extra)["data"][field_name]
        assert result["__typename"] == "ConnectorVersion", result
    return created["id"], created["versions"][0]["id"]


def link_id_of(b: Tenant, connector_id: str) -> str:
    query = "query($organisationId: ULID!, $id: ULID!) { connector(organisationId: $organisationId, id: $id) { connections { credentials { action { id } } } } }"
    connector = run(b, query, {"organisationId": b.organisation_id, "id": connector_id})["data"]["connector"]
    return connector["connections"][0]["credentials"]["action"][0]["id"]


def add_b_only_version(b: Tenant, connector_id: str) -> None:
    variables = {"organisationId": b.organisation_id, "connectorId": connector_id, "input": {"name": B_ONLY_VERSION}}
    result = run(b, mutation_document("createConnectorVersion", list(variables)), variables)["data"]["createConnectorVersion"]
    assert result["__typename"] == "ConnectorVersion", result


@pytest.fixture
def world(tenant: Tenant, other_tenant: Tenant) -> World:
    mine = create_holdings(tenant, "A")
    theirs = create_holdings(other_tenant, "B")
    add_b_only_version(other_tenant, theirs.connector_id)
    public_connector_id, public_version_id = published_public_connector(other_tenant)
    targets = Targets(
        organisation_id=other_tenant.organisation_id,
        connector_id=theirs.connector_id,
        connection_id=theirs.connection_id,
        link_id=link_id_of(other_tenant, theirs.connector_id),
        version_id=theirs.version_id,
        string_credential_id=theirs.string_credential_id,
        certificate_credential_id=theirs.certificate_credential_id,
        client_credential_id=theirs.client_credential_id,
        public_connector_id=public_connector_id,
        public_version_id=public_version_id,
    )
    own = Own(tenant.organisation_id, mine.connector_id, mine.connection_id, mine.client_credential_id)
    return World(tenant, other_tenant, own, targets)


def state_of(b: Tenant, targets: Targets) -> dict[str, Any]:
    """Read everything B owns, with the decrypted secret of one credential."""
    data = run(b, STATE, {"organisationId": b.organisation_id})["data"]
    return data | {"secret": stored_secret(b, targets.string_credential_id)}


# ---------------------------------------------------------------- checks


def normalised(body: dict[str, Any], targets: Targets) -> str:
    """Return the body as text with each of B's ids replaced by the name of the slot it fills."""
    text = json.dumps(body, sort_keys=True)
    for name, value in asdict(targets).items():
        text = text.replace(value, f"<{name}>")
    return text


def check_absent(attempt: Attempt, body: dict[str, Any], b: Targets) -> None:
    (value,) = body["data"].values()
    if attempt.expect == "null":
        assert value is None
    elif attempt.expect == "empty":
        assert value == EMPTY_PAGE
    elif attempt.expect == "nulls":
        assert value == [None] * len(value)
        assert value
    elif attempt.expect == "error":
        assert value["__typename"] == "Error", value
        assert value["code"] in ("NOT_FOUND", "INVALID_ARGUMENT"), value
        if value["code"] == "INVALID_ARGUMENT":
            assert value["fields"], value
    elif attempt.expect == "library":
        listed = {item["id"]: item for item in value["nodes"]}
        assert b.connector_id not in listed
        assert listed[b.public_connector_id]["connections"] == []
        assert all(version["subscribers"] == [] for version in listed[b.public_connector_id]["versions"])


def attempt_body(world: World, attempt: Attempt) -> None:
    """Run one attempt with B's ids and with ghost ids, and check that both look the same."""
    if attempt.expect == "same for both":
        assert run(world.a, attempt.document, {}) == run(world.b, attempt.document, {})
        return

    body = run(world.a, attempt.document, attempt.variables(world.own, world.targets))
    check_absent(attempt, body, world.targets)
    if attempt.expect != "library":
        ghost = Targets.ghost()
        absent = run(world.a, attempt.document, attempt.variables(world.own, ghost))
        assert normalised(body, world.targets) == normalised(absent, ghost)


@pytest.mark.parametrize("root,field_name", sorted(MATRIX))
def test_foreign_objects_absent(world: World, root: str, field_name: str) -> None:
    before = state_of(world.b, world.targets)

    for attempt in MATRIX[(root, field_name)]:
        if attempt.gap is None:
            try:
                attempt_body(world, attempt)
            except AssertionError as error:
                raise AssertionError(f"attempt {attempt.label!r} of {field_name}: {error}") from error

    assert state_of(world.b, world.targets) == before


KNOWN_GAPS = [
    pytest.param(field_name, attempt, id=f"{field_name}-{attempt.label}", marks=pytest.mark.xfail(strict=True, reason=attempt.gap))
    for (_, field_name), attempts in sorted(MATRIX.items())
    for attempt in attempts
    if attempt.gap
]


@pytest.mark.parametrize("field_name,attempt", KNOWN_GAPS)
def test_known_gap_attempts(world: World, field_name: str, attempt: Attempt) -> None:
    attempt_body(world, attempt)
