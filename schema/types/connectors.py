"""Connector, connection and version output types, resolved through the request's loaders."""

from functools import partial
from typing import Any

import strawberry

from db import models
from resolvers.context import RequestContext
from resolvers.versions import resolve_version_name
from schema.enums import Category, Protocol, member
from schema.scalars import ULID, DateTime
from schema.types.auth_schemes import AuthSchemeConfig, auth_scheme_config_of
from schema.types.common import ConnectionVariable, Message, Node, Tag, variables_of
from schema.types.credentials import Credential
from schema.types.lifecycle import ConnectorSubscriber

Info = strawberry.Info[RequestContext, None]


@strawberry.type
class ConnectorVersion(Node):
    id: strawberry.ID
    name: str
    description: str
    is_latest: bool
    is_default: bool
    created_at: DateTime
    updated_at: DateTime
    published_at: DateTime | None = strawberry.field(description="Null while the version is a draft.")
    messages: list[Message]

    @strawberry.field(
        description=(
            "The products that use this published version. While there are any, the version cannot be "
            "unpublished or deleted, and its connector and connections need `force` to be deleted. "
            "Empty for another organisation's public connector."
        )
    )
    async def subscribers(self, info: Info) -> list[ConnectorSubscriber]:
        rows = await info.context.loaders.subscribers_by_version.load(str(self.id))
        return [ConnectorSubscriber(product=row.product, reference=row.reference, created_at=row.created_at) for row in rows]


def versions_of(rows: list[models.ConnectorVersion]) -> list[ConnectorVersion]:
    published = [row for row in rows if row.published_at is not None]
    latest = max(published, key=lambda row: (row.published_at, row.id), default=None)
    return [
        ConnectorVersion(
            id=strawberry.ID(row.id),
            name=row.name,
            description=row.description,
            is_latest=row is latest,
            is_default=row.is_default,
            created_at=row.created_at,
            updated_at=row.updated_at,
            published_at=row.published_at,
            messages=[Message.from_json(item) for item in row.messages],
        )
        for row in rows
    ]


@strawberry.type
class ConnectionCredential:
    id: ULID
    connector_id: strawberry.Private[str]
    config_id: strawberry.Private[str]
    credential_id: strawberry.Private[str]

    @strawberry.field
    async def auth_scheme_config(self, info: Info) -> AuthSchemeConfig:
        loaders = info.context.loaders
        rows = await loaders.auth_scheme_configs_by_connector.load(self.connector_id)
        row = next(row for row in rows if row.config_id == self.config_id)
        return loaders.output(("auth_scheme_config", self.connector_id, row.config_id), partial(auth_scheme_config_of, row))

    @strawberry.field
    async def credential(self, info: Info) -> Credential:
        row = await info.context.loaders.credential_by_id.load(self.credential_id)
        if row is None:
            raise LookupError(f"credential {self.credential_id} of connection credential {self.id} is missing")
        return Credential.from_row(row)


@strawberry.type
class ConnectionCredentials:
    action: list[ConnectionCredential]
    trigger: list[ConnectionCredential]


@strawberry.type
class Connection(Node):
    id: strawberry.ID
    name: str
    created_at: DateTime
    updated_at: DateTime
    connector_id: strawberry.Private[str]
    own_variables: strawberry.Private[list[dict[str, str]]]

    @strawberry.field(
        description=(
            "The connector's connection variables with this connection's own values applied, "
            "then the variables only this connection sets."
        )
    )
    async def variables(self, info: Info) -> list[ConnectionVariable]:
        connector = await info.context.loaders.connector_by_id.load(self.connector_id)
        inherited = connector.connection_variables if connector is not None else []
        return variables_of(merge_variables(inherited, self.own_variables))

    @strawberry.field
    async def connector(self, info: Info) -> "Connector":
        loaders = info.context.loaders
        row = await loaders.connector_by_id.load(self.connector_id)
        if row is None:
            raise LookupError(f"connector {self.connector_id} of connection {self.id} is missing")
        return loaders.output(("connector", row.id), partial(connector_of, row))

    @strawberry.field
    async def credentials(self, info: Info) -> ConnectionCredentials:
        rows = await info.context.loaders.connection_credentials_by_connection.load(self.id)
        links = {"action": [], "trigger": []}
        for row in rows:
            links[row.purpose].append(
                ConnectionCredential(
                    id=row.id, connector_id=self.connector_id, config_id=row.auth_scheme_config_id, credential_id=row.credential_id
                )
            )
        return ConnectionCredentials(action=links["action"], trigger=links["trigger"])

    @classmethod
    def from_row(cls, row: models.Connection) -> "Connection":
        return cls(
            id=strawberry.ID(row.id),
            name=row.name,
            created_at=row.created_at,
            updated_at=row.updated_at,
            connector_id=row.connector_id,
            own_variables=row.variables,
        )


def merge_variables(inherited: list[dict[str, str]], own: list[dict[str, str]]) -> list[dict[str, str]]:
    """Return the connector's variables overridden by a connection's, then the connection's others."""
    own_by_name = {item["name"]: item for item in own}
    inherited_names = {item["name"] for item in inherited}
    merged = [own_by_name.get(item["name"], item) for item in inherited]
    return merged + [item for item in own if item["name"] not in inherited_names]


@strawberry.interface
class Connector(Node):
    id: strawberry.ID
    organisation_id: ULID
    name: str
    public: bool
    documentation_url: str = strawberry.field(name="documentationURL")
    image_url: str = strawberry.field(name="imageURL")
    tags: list[Tag]
    protocol: Protocol
    connection_variables: list[ConnectionVariable]
    created_at: DateTime
    updated_at: DateTime

    @strawberry.field
    async def auth_scheme_configs(self, info: Info) -> list[AuthSchemeConfig]:
        loaders = info.context.loaders
        rows = await loaders.auth_scheme_configs_by_connector.load(str(self.id))
        return [loaders.output(("auth_scheme_config", row.connector_id, row.config_id), partial(auth_scheme_config_of, row)) for row in rows]

    @strawberry.field(description="Empty for another organisation's public connector.")
    async def connections(self, info: Info) -> list[Connection]:
        if not info.context.caller.may_act_for(self.organisation_id):
            return []
        rows = await info.context.loaders.connections_by_connector.load(str(self.id))
        return [Connection.from_row(row) for row in rows]

    @strawberry.field(description="The connector's categories, in the order they were set.")
    async def categories(self, info: Info) -> list[Category]:
        rows = await info.context.loaders.categories_by_connector.load(str(self.id))
        return [Category(row.category) for row in rows]

    @strawberry.field
    async def versions(self, info: Info) -> list[ConnectorVersion]:
        return versions_of(await info.context.loaders.versions_by_connector.load(str(self.id)))

    @strawberry.field(description="A version by name; `latest` and `default` resolve as the REST API defines them.")
    async def version(self, info: Info, name: str) -> ConnectorVersion | None:
        versions = versions_of(await info.context.loaders.versions_by_connector.load(str(self.id)))
        wanted = resolve_version_name(
            name,
            [(item.name, item.published_at, item.is_default, str(item.id)) for item in versions],
        )
        return next((item for item in versions if item.name == wanted), None)


@strawberry.type(name="HTTPConnector")
class HTTPConnector(Connector):
    base_url: str


def connector_of(row: models.Connector) -> HTTPConnector:
    return HTTPConnector(
        id=strawberry.ID(row.id),
        organisation_id=row.organisation_id,
        name=row.name,
        public=row.public,
        documentation_url=row.documentation_url,
        image_url=row.image_url,
        tags=[Tag(key=tag["key"], values=list(tag["values"])) for tag in row.tags],
        protocol=member(Protocol, row.protocol),
        connection_variables=variables_of(row.connection_variables),
        created_at=row.created_at,
        updated_at=row.updated_at,
        base_url=row.base_url,
    )


def node_of(row: Any) -> Any:
    """Build the output object for any node row."""
    if isinstance(row, models.Connector):
        return connector_of(row)
    if isinstance(row, models.Connection):
        return Connection.from_row(row)
    if isinstance(row, models.Credential):
        return Credential.from_row(row)
    if isinstance(row, models.ConnectorVersion):
        return versions_of([row])[0]
    return None
