"""Output types of the connector lifecycle: delete results, subscribers and protocols."""

import strawberry

from schema.enums import AuthSchemeType, Protocol
from schema.scalars import DateTime


@strawberry.type(description="The result of a delete: the id of the object that no longer exists.")
class Deleted:
    id: strawberry.ID


@strawberry.type(description="A product that uses a published version, such as a live integration.")
class ConnectorSubscriber:
    product: str = strawberry.field(description="The subscribing product, such as `integrations`.")
    reference: str = strawberry.field(description="What in that product subscribes, such as an integration id.")
    created_at: DateTime


@strawberry.type(description="A protocol that connectors can be created for, with the auth scheme types it supports.")
class SupportedProtocol:
    protocol: Protocol
    name: str
    description: str
    auth_scheme_types: list[AuthSchemeType]
