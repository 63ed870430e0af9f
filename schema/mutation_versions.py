"""Mutations on connector versions and their subscribers.

Every `version` argument takes a version name, `latest` (the newest published version) or
`default` (the version marked default, else `latest`).
"""

from typing import Annotated

import strawberry

from resolvers import subscribers, versions
from schema.convert import to_plain
from schema.inputs_versions import ConnectorSubscriberInput, ConnectorVersionCreateInput, ConnectorVersionUpdateInput
from schema.mutation_support import deleted_output, mutate, version_output
from schema.scalars import ULID
from schema.types.common import Error
from schema.types.connectors import ConnectorVersion, Info
from schema.types.lifecycle import Deleted

CreateConnectorVersionResult = Annotated[ConnectorVersion | Error, strawberry.union("CreateConnectorVersionResult")]
UpdateConnectorVersionResult = Annotated[ConnectorVersion | Error, strawberry.union("UpdateConnectorVersionResult")]
DeleteConnectorVersionResult = Annotated[Deleted | Error, strawberry.union("DeleteConnectorVersionResult")]
PublishConnectorVersionResult = Annotated[ConnectorVersion | Error, strawberry.union("PublishConnectorVersionResult")]
UnpublishConnectorVersionResult = Annotated[ConnectorVersion | Error, strawberry.union("UnpublishConnectorVersionResult")]
SetDefaultConnectorVersionResult = Annotated[ConnectorVersion | Error, strawberry.union("SetDefaultConnectorVersionResult")]
AddConnectorSubscriberResult = Annotated[ConnectorVersion | Error, strawberry.union("AddConnectorSubscriberResult")]
RemoveConnectorSubscriberResult = Annotated[ConnectorVersion | Error, strawberry.union("RemoveConnectorSubscriberResult")]

VersionArgument = Annotated[str, strawberry.argument(description="A version name, `latest` or `default`.")]


@strawberry.type
class VersionMutations:
    @strawberry.mutation(
        description=(
            "Create a draft version. Its name is unique within the connector (else ALREADY_EXISTS) and never "
            "`latest` or `default`; `fromVersion` copies that version's content."
        )
    )
    async def create_connector_version(
        self, info: Info, organisation_id: ULID, connector_id: ULID, input: ConnectorVersionCreateInput
    ) -> CreateConnectorVersionResult:
        return await mutate(info, version_output, versions.create_connector_version, organisation_id, connector_id, to_plain(input))

    @strawberry.mutation(description="Replace a draft version's fields. A published version is immutable: FAILED_PRECONDITION.")
    async def update_connector_version(
        self, info: Info, organisation_id: ULID, connector_id: ULID, version: VersionArgument, input: ConnectorVersionUpdateInput
    ) -> UpdateConnectorVersionResult:
        return await mutate(
            info, version_output, versions.update_connector_version, organisation_id, connector_id, version, to_plain(input)
        )

    @strawberry.mutation(
        description=(
            "Delete a draft version. A published version needs `force`, and a version with subscribers is never "
            "deleted (FAILED_PRECONDITION)."
        )
    )
    async def delete_connector_version(
        self, info: Info, organisation_id: ULID, connector_id: ULID, version: VersionArgument, force: bool = False
    ) -> DeleteConnectorVersionResult:
        return await mutate(info, deleted_output, versions.delete_connector_version, organisation_id, connector_id, version, force)

    @strawberry.mutation(
        description=(
            "Validate a draft and publish it, setting `publishedAt`. FAILED_PRECONDITION when it is already published "
            "or it or the connector's auth scheme configs carry error messages (listed in `details`)."
        )
    )
    async def publish_connector_version(
        self, info: Info, organisation_id: ULID, connector_id: ULID, version: VersionArgument
    ) -> PublishConnectorVersionResult:
        return await mutate(info, version_output, versions.publish_connector_version, organisation_id, connector_id, version)

    @strawberry.mutation(
        description=(
            "Turn a published version back into a draft; it also stops being the default. FAILED_PRECONDITION "
            "while it has subscribers."
        )
    )
    async def unpublish_connector_version(
        self, info: Info, organisation_id: ULID, connector_id: ULID, version: VersionArgument
    ) -> UnpublishConnectorVersionResult:
        return await mutate(info, version_output, versions.unpublish_connector_version, organisation_id, connector_id, version)

    @strawberry.mutation(
        description=(
            "Make a published version the connector's default; the previous default loses `isDefault` in the same "
            "transaction. FAILED_PRECONDITION for a draft."
        )
    )
    async def set_default_connector_version(
        self, info: Info, organisation_id: ULID, connector_id: ULID, version: VersionArgument
    ) -> SetDefaultConnectorVersionResult:
        return await mutate(info, version_output, versions.set_default_connector_version, organisation_id, connector_id, version)

    @strawberry.mutation(
        description=(
            "Record that a product uses a published version (FAILED_PRECONDITION for a draft, ALREADY_EXISTS for a "
            "repeat). The subscriber blocks unpublishing and deleting until it is removed."
        )
    )
    async def add_connector_subscriber(
        self, info: Info, organisation_id: ULID, connector_id: ULID, version: VersionArgument, subscriber: ConnectorSubscriberInput
    ) -> AddConnectorSubscriberResult:
        return await mutate(
            info, version_output, subscribers.add_connector_subscriber, organisation_id, connector_id, version, to_plain(subscriber)
        )

    @strawberry.mutation(description="Remove a subscriber of a version, found by product and reference.")
    async def remove_connector_subscriber(
        self, info: Info, organisation_id: ULID, connector_id: ULID, version: VersionArgument, subscriber: ConnectorSubscriberInput
    ) -> RemoveConnectorSubscriberResult:
        return await mutate(
            info, version_output, subscribers.remove_connector_subscriber, organisation_id, connector_id, version, to_plain(subscriber)
        )
