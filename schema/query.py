"""The Query root: reads scoped to the organisations the caller may act for."""

from typing import Any

import strawberry

from db import models
from resolvers import library, reads
from resolvers.connector_updates import CATEGORIES
from resolvers.errors import DomainError, invalid
from resolvers.ids import parse_ulid
from resolvers.pagination import PageRequest
from schema.errors import graphql_error
from schema.inputs import ConnectorFilter, CredentialFilter
from schema.pages import ConnectorConnection, CredentialConnection, connector_page, credential_page
from schema.enums import AuthSchemeType, Category, Protocol
from schema.scalars import ULID
from schema.types.common import Node
from schema.types.lifecycle import SupportedProtocol
from schema.types.connectors import Connector, Info, connector_of, node_of, versions_of
from schema.types.credentials import Credential


def _value(value: Any) -> Any:
    return None if value is strawberry.UNSET else value


def _connector_filter(value: ConnectorFilter | None) -> reads.ConnectorFilter:
    if not value:
        return reads.ConnectorFilter()
    protocol = _value(value.protocol)
    return reads.ConnectorFilter(
        name=_value(value.name),
        protocol=protocol.value if protocol else None,
        tags=tuple(reads.TagFilter(tag.key, _value(tag.value)) for tag in _value(value.tags) or []),
        public=_value(value.public),
        categories=tuple(category.value for category in _value(value.categories) or []),
    )


def _credential_filter(value: CredentialFilter | None) -> reads.CredentialFilter:
    if not value:
        return reads.CredentialFilter()
    credential_type = _value(value.type)
    return reads.CredentialFilter(name=_value(value.name), type=credential_type.value if credential_type else None)


async def _node_objects(info: Info, ids: list[str]) -> list[Any]:
    canonical = [parse_ulid(node_id) for node_id in ids]
    found = await reads.find_nodes(info.context.services, info.context.caller, [node_id for node_id in canonical if node_id], info.context.read)
    objects = []
    for node_id in canonical:
        row = found.get(node_id) if node_id else None
        if isinstance(row, models.ConnectorVersion):
            # isLatest depends on the sibling versions, so load them all.
            siblings = versions_of(await info.context.loaders.versions_by_connector.load(row.connector_id))
            objects.append(next(item for item in siblings if str(item.id) == row.id))
        else:
            objects.append(node_of(row) if row is not None else None)
    return objects


@strawberry.type
class Query:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return (await _node_objects(info, [str(id)]))[0]

    @strawberry.field
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > 100:
            raise graphql_error(invalid("ids", "lists more than 100 ids; request at most 100 at a time."))
        return await _node_objects(info, [str(node_id) for node_id in ids])

    @strawberry.field
    async def connector(self, info: Info, organisation_id: ULID, id: ULID) -> Connector | None:
        if not info.context.caller.may_act_for(organisation_id):
            return None
        row = await info.context.loaders.connector_by_id.load(id)
        if row is None or row.organisation_id != organisation_id:
            return None
        return connector_of(row)

    @strawberry.field(description="Most recently updated first; `first` and `last` are at most 100.")
    async def connectors(
        self,
        info: Info,
        organisation_id: ULID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: ConnectorFilter | None = None,
    ) -> ConnectorConnection:
        request = PageRequest(first, after, last, before)
        try:
            page = await reads.list_connectors(
                info.context.services, info.context.caller, organisation_id, request, _connector_filter(filter), info.context.read
            )
        except DomainError as error:
            raise graphql_error(error) from None
        if page is not None:
            info.context.loaders.prime_connectors(page.rows)
        return connector_page(page)

    @strawberry.field
    async def credential(self, info: Info, organisation_id: ULID, id: ULID) -> Credential | None:
        if not info.context.caller.may_act_for(organisation_id):
            return None
        row = await info.context.loaders.credential_by_id.load(id)
        if row is None or row.organisation_id != organisation_id:
            return None
        return Credential.from_row(row)

    @strawberry.field
    async def credentials(
        self,
        info: Info,
        organisation_id: ULID,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: CredentialFilter | None = None,
    ) -> CredentialConnection:
        request = PageRequest(first, after, last, before)
        try:
            page = await reads.list_credentials(
                info.context.services, info.context.caller, organisation_id, request, _credential_filter(filter), info.context.read
            )
        except DomainError as error:
            raise graphql_error(error) from None
        return credential_page(page)

    @strawberry.field(
        description=(
            "The public connector library: public connectors of every organisation, most recently updated first. "
            "`filter.public` is ignored. Their connections and subscribers read as empty; import a version with "
            "importPublicConnectorVersion to use one."
        )
    )
    async def public_connectors(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: ConnectorFilter | None = None,
    ) -> ConnectorConnection:
        request = PageRequest(first, after, last, before)
        try:
            page = await library.list_public_connectors(info.context.services, request, _connector_filter(filter), info.context.read)
        except DomainError as error:
            raise graphql_error(error) from None
        info.context.loaders.prime_connectors(page.rows)
        return connector_page(page)

    @strawberry.field(description="The protocols that connectors can be created for, each with its supported auth scheme types.")
    def protocols(self) -> list[SupportedProtocol]:
        return [
            SupportedProtocol(
                protocol=Protocol(item.protocol),
                name=item.name,
                description=item.description,
                auth_scheme_types=[AuthSchemeType(scheme_type) for scheme_type in item.auth_scheme_types],
            )
            for item in library.PROTOCOLS
        ]

    @strawberry.field(description="Every connector category, in the REST API's order.")
    def categories(self) -> list[Category]:
        return [Category(value) for value in CATEGORIES]
