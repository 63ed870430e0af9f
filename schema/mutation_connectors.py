"""Mutations that change a connector itself: update, tags, categories, auth scheme configs, delete."""

from typing import Annotated

import strawberry

from resolvers import connector_updates
from schema.convert import auth_scheme_config_spec, to_plain
from schema.enums import Category
from schema.inputs import AuthSchemeConfigInput, TagInput
from schema.inputs_connectors import HTTPConnectorUpdateInput
from schema.mutation_support import connector_output, deleted_output, mutate
from schema.scalars import ULID
from schema.types.common import Error
from schema.types.connectors import HTTPConnector, Info
from schema.types.lifecycle import Deleted

UpdateHTTPConnectorResult = Annotated[HTTPConnector | Error, strawberry.union("UpdateHTTPConnectorResult")]
UpdateConnectorTagsResult = Annotated[HTTPConnector | Error, strawberry.union("UpdateConnectorTagsResult")]
UpdateConnectorCategoriesResult = Annotated[HTTPConnector | Error, strawberry.union("UpdateConnectorCategoriesResult")]
DeleteConnectorResult = Annotated[Deleted | Error, strawberry.union("DeleteConnectorResult")]
UpsertAuthSchemeConfigResult = Annotated[HTTPConnector | Error, strawberry.union("UpsertAuthSchemeConfigResult")]
DeleteAuthSchemeConfigResult = Annotated[HTTPConnector | Error, strawberry.union("DeleteAuthSchemeConfigResult")]


@strawberry.type
class ConnectorMutations:
    @strawberry.mutation(
        name="updateHTTPConnector",
        description=(
            "Replace an HTTP connector's own fields, as the REST PUT does: optional fields left out go back to "
            "their defaults. Configs, connections and versions are changed by their own mutations."
        ),
    )
    async def update_http_connector(
        self, info: Info, organisation_id: ULID, id: ULID, input: HTTPConnectorUpdateInput
    ) -> UpdateHTTPConnectorResult:
        return await mutate(info, connector_output, connector_updates.update_http_connector, organisation_id, id, to_plain(input))

    @strawberry.mutation(description="Replace all tags of a connector.")
    async def update_connector_tags(
        self, info: Info, organisation_id: ULID, id: ULID, tags: list[TagInput]
    ) -> UpdateConnectorTagsResult:
        return await mutate(info, connector_output, connector_updates.update_connector_tags, organisation_id, id, to_plain(tags))

    @strawberry.mutation(description="Replace all categories of a connector; each may appear once.")
    async def update_connector_categories(
        self, info: Info, organisation_id: ULID, id: ULID, categories: list[Category]
    ) -> UpdateConnectorCategoriesResult:
        values = [category.value for category in categories]
        return await mutate(info, connector_output, connector_updates.update_connector_categories, organisation_id, id, values)

    @strawberry.mutation(
        description=(
            "Delete a connector with its auth scheme configs, connections and versions, and the credentials that "
            "nothing else uses. FAILED_PRECONDITION while any version has subscribers, unless `force` is true."
        )
    )
    async def delete_connector(self, info: Info, organisation_id: ULID, id: ULID, force: bool = False) -> DeleteConnectorResult:
        return await mutate(info, deleted_output, connector_updates.delete_connector, organisation_id, id, force)

    @strawberry.mutation(
        description=(
            "Add an auth scheme config, or replace the connector's config with the same client-chosen id. "
            "A replacement must still accept the credentials that connections apply for it (else FAILED_PRECONDITION)."
        )
    )
    async def upsert_auth_scheme_config(
        self, info: Info, organisation_id: ULID, connector_id: ULID, config: AuthSchemeConfigInput
    ) -> UpsertAuthSchemeConfigResult:
        spec = auth_scheme_config_spec(config, "config")
        return await mutate(info, connector_output, connector_updates.upsert_auth_scheme_config, organisation_id, connector_id, spec)

    @strawberry.mutation(
        description=(
            "Delete an auth scheme config. Connections stay but no longer apply the credentials they had for it; "
            "each such credential stays and gets an entry in `errors` naming the connection."
        )
    )
    async def delete_auth_scheme_config(
        self, info: Info, organisation_id: ULID, connector_id: ULID, id: str
    ) -> DeleteAuthSchemeConfigResult:
        return await mutate(info, connector_output, connector_updates.delete_auth_scheme_config, organisation_id, connector_id, id)
