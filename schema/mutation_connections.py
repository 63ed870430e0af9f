"""Mutations on the connections of a connector."""

from typing import Annotated

import strawberry

from resolvers import connections
from schema.convert import connection_create_spec, to_plain
from schema.inputs import ConnectionCreateInput
from schema.inputs_connections import ConnectionUpdateInput
from schema.mutation_support import connection_output, deleted_output, mutate
from schema.scalars import ULID
from schema.types.common import Error
from schema.types.connectors import Connection, Info
from schema.types.lifecycle import Deleted

CreateConnectionResult = Annotated[Connection | Error, strawberry.union("CreateConnectionResult")]
UpdateConnectionResult = Annotated[Connection | Error, strawberry.union("UpdateConnectionResult")]
DeleteConnectionResult = Annotated[Deleted | Error, strawberry.union("DeleteConnectionResult")]


@strawberry.type
class ConnectionMutations:
    @strawberry.mutation(
        description=(
            "Create a connection. Its name is unique within the connector (else ALREADY_EXISTS). Each credential is "
            "either new (`credential`) or an existing one of the organisation (`credentialId`)."
        )
    )
    async def create_connection(
        self, info: Info, organisation_id: ULID, connector_id: ULID, input: ConnectionCreateInput
    ) -> CreateConnectionResult:
        spec = connection_create_spec(input, "input")
        return await mutate(info, connection_output, connections.create_connection, organisation_id, connector_id, spec)

    @strawberry.mutation(
        description=(
            "Rename a connection, replace its variables, and reorder its credentials or move them to another config "
            "of the same scheme type. A credential's scheme type never changes, and its data changes only through "
            "updateCredential."
        )
    )
    async def update_connection(
        self, info: Info, organisation_id: ULID, connector_id: ULID, id: ULID, input: ConnectionUpdateInput
    ) -> UpdateConnectionResult:
        return await mutate(info, connection_output, connections.update_connection, organisation_id, connector_id, id, to_plain(input))

    @strawberry.mutation(
        description=(
            "Delete a connection; its credentials stay in the organisation. A connection is in use while any version "
            "of its connector has subscribers, and then FAILED_PRECONDITION is returned unless `force` is true."
        )
    )
    async def delete_connection(
        self, info: Info, organisation_id: ULID, connector_id: ULID, id: ULID, force: bool = False
    ) -> DeleteConnectionResult:
        return await mutate(info, deleted_output, connections.delete_connection, organisation_id, connector_id, id, force)
