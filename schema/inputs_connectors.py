"""Input types for changing a connector."""

import strawberry

from schema.inputs import ConnectionVariableInput, TagInput

UNSET = strawberry.UNSET


@strawberry.input(
    name="HTTPConnectorUpdateInput",
    description="A full replacement of an HTTP connector's own fields: an omitted optional field goes back to its default.",
)
class HTTPConnectorUpdateInput:
    name: str
    base_url: str
    tags: list[TagInput] | None = strawberry.field(default=UNSET, description="Omitted: no tags.")
    auth_scheme_config_ids: list[str] | None = strawberry.field(
        default=UNSET,
        description=(
            "The connector's auth scheme config ids in their new order, each exactly once. Omitted: order "
            "unchanged. Add and remove configs with upsertAuthSchemeConfig and deleteAuthSchemeConfig."
        ),
    )
    connection_variables: list[ConnectionVariableInput] | None = strawberry.field(
        default=UNSET,
        description="Replaces the list (omitted: none). Every connection reads these, except the variables it sets itself.",
    )
    public: bool | None = strawberry.field(default=UNSET, description="Omitted: false.")
    documentation_url: str | None = strawberry.field(default=UNSET, name="documentationURL", description="Omitted: empty.")
    image_url: str | None = strawberry.field(default=UNSET, name="imageURL", description="Omitted: empty.")
