"""Credential output types. Secret fields are write-only: only `redactedFields` names them."""

from typing import Annotated, Any

import strawberry

from db import models
from db.loaders import CredentialUsageRow
from resolvers.context import RequestContext
from resolvers.credential_types import READ_TYPE
from schema.enums import CredentialType, Protocol, member
from schema.scalars import ULID, DateTime
from schema.types.common import Node


@strawberry.type
class CredentialDataNone:
    redacted_fields: list[str]


@strawberry.type
class CredentialDataString:
    redacted_fields: list[str]


@strawberry.type
class CredentialDataBinary:
    redacted_fields: list[str]


@strawberry.type
class CredentialDataBasicAuth:
    redacted_fields: list[str]
    username: str


@strawberry.type(name="CredentialDataOAuth2Client")
class CredentialDataOAuth2Client:
    redacted_fields: list[str]
    client_id: str
    authorize_url: str
    token_url: str
    scopes: list[str]
    additional_params: str
    mtls_enabled: bool = strawberry.field(name="mTLSEnabled")
    mtls_credential_id: str = strawberry.field(name="mTLSCredentialId")


@strawberry.type(name="CredentialDataOAuth2Token")
class CredentialDataOAuth2Token:
    redacted_fields: list[str]
    scopes: list[str]


@strawberry.type(name="CredentialDataOAuth2Password")
class CredentialDataOAuth2Password:
    redacted_fields: list[str]
    username: str


@strawberry.type
class CredentialDataCertificate:
    redacted_fields: list[str]
    certificate: str
    ca: str


CredentialData = Annotated[
    CredentialDataNone
    | CredentialDataString
    | CredentialDataBinary
    | CredentialDataBasicAuth
    | CredentialDataOAuth2Client
    | CredentialDataOAuth2Token
    | CredentialDataOAuth2Password
    | CredentialDataCertificate,
    strawberry.union("CredentialData"),
]


@strawberry.type
class ConnectorSummary:
    id: ULID
    organisation_id: ULID
    name: str
    protocol: Protocol
    created_at: DateTime
    updated_at: DateTime


@strawberry.type
class CredentialUsageConnection:
    id: ULID
    name: str
    connector: ConnectorSummary
    created_at: DateTime
    updated_at: DateTime


@strawberry.type
class CredentialUsage:
    connection: CredentialUsageConnection


def _usage_of(row: CredentialUsageRow) -> CredentialUsage:
    connector = row.connector
    summary = ConnectorSummary(
        id=connector.id,
        organisation_id=connector.organisation_id,
        name=connector.name,
        protocol=member(Protocol, connector.protocol),
        created_at=connector.created_at,
        updated_at=connector.updated_at,
    )
    connection = row.connection
    return CredentialUsage(
        connection=CredentialUsageConnection(
            id=connection.id,
            name=connection.name,
            connector=summary,
            created_at=connection.created_at,
            updated_at=connection.updated_at,
        )
    )


def credential_data_of(credential_type: str, public: dict[str, Any], redacted: list[str]) -> Any:
    """Build the data object a stored credential reads back as."""
    match credential_type:
        case "string":
            return CredentialDataString(redacted_fields=redacted)
        case "binary":
            return CredentialDataBinary(redacted_fields=redacted)
        case "basic-auth":
            return CredentialDataBasicAuth(redacted_fields=redacted, username=public.get("username", ""))
        case "oauth2-client":
            return CredentialDataOAuth2Client(
                redacted_fields=redacted,
                client_id=public.get("clientId", ""),
                authorize_url=public.get("authorizeUrl", ""),
                token_url=public.get("tokenUrl", ""),
                scopes=list(public.get("scopes") or []),
                additional_params=public.get("additionalParams", ""),
                mtls_enabled=bool(public.get("mTLSEnabled")),
                mtls_credential_id=public.get("mTLSCredentialId") or "",
            )
        case "oauth2-token" | "oauth2-code":
            return CredentialDataOAuth2Token(redacted_fields=redacted, scopes=list(public.get("scopes") or []))
        case "oauth2-password":
            return CredentialDataOAuth2Password(redacted_fields=redacted, username=public.get("username", ""))
        case "certificate":
            return CredentialDataCertificate(redacted_fields=redacted, certificate=public.get("certificate", ""), ca=public.get("ca", ""))
        case _:
            return CredentialDataNone(redacted_fields=redacted)


@strawberry.type
class Credential(Node):
    id: strawberry.ID
    organisation_id: ULID
    type: CredentialType
    name: str
    errors: list[str] | None = strawberry.field(description="Null: not validated yet. Empty: valid.")
    data: CredentialData
    expires_at: DateTime | None

    @strawberry.field
    async def usages(self, info: strawberry.Info[RequestContext, None]) -> list[CredentialUsage]:
        rows = await info.context.loaders.usages_by_credential.load(self.id)
        return [_usage_of(row) for row in rows]

    @classmethod
    def from_row(cls, row: models.Credential) -> "Credential":
        read_type = READ_TYPE.get(row.type, row.type)
        return cls(
            id=strawberry.ID(row.id),
            organisation_id=row.organisation_id,
            type=member(CredentialType, read_type),
            name=row.name,
            errors=row.errors,
            data=credential_data_of(row.type, row.public_data, list(row.redacted_fields)),
            expires_at=row.expires_at,
        )


