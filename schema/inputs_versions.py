"""Input types for connector versions and their subscribers."""

import strawberry

UNSET = strawberry.UNSET


@strawberry.input
class ConnectorVersionCreateInput:
    name: str = strawberry.field(description="Unique within the connector; `latest` and `default` are reserved.")
    description: str | None = strawberry.field(default=UNSET, description="Omitted: copied from fromVersion, or empty.")
    from_version: str | None = strawberry.field(
        default=UNSET, description="A version name, `latest` or `default` whose content the new draft copies."
    )


@strawberry.input(description="A full replacement of a draft version's fields.")
class ConnectorVersionUpdateInput:
    name: str = strawberry.field(description="Unique within the connector; `latest` and `default` are reserved.")
    description: str | None = strawberry.field(default=UNSET, description="Omitted: empty.")


@strawberry.input
class ConnectorSubscriberInput:
    product: str = strawberry.field(description="The subscribing product, such as `integrations`.")
    reference: str = strawberry.field(description="What in that product subscribes, such as an integration id.")
