"""The Mutation root, merged from one class per area. Expected failures come back as the `Error` member of each result union."""

from typing import Annotated

import strawberry
from strawberry.tools import merge_types

from resolvers.connectors import create_http_connector
from schema.convert import connector_spec
from schema.inputs import HTTPConnectorCreateInput
from schema.mutation_connections import ConnectionMutations
from schema.mutation_connectors import ConnectorMutations
from schema.mutation_credentials import CredentialMutations
from schema.mutation_library import LibraryMutations
from schema.mutation_support import connector_output, mutate
from schema.mutation_versions import VersionMutations
from schema.scalars import ULID
from schema.types.common import Error
from schema.types.connectors import HTTPConnector, Info

CreateHTTPConnectorResult = Annotated[HTTPConnector | Error, strawberry.union("CreateHTTPConnectorResult")]


@strawberry.type
class CreateMutations:
    @strawberry.mutation(name="createHTTPConnector")
    async def create_http_connector(
        self, info: Info, organisation_id: ULID, input: HTTPConnectorCreateInput
    ) -> CreateHTTPConnectorResult:
        return await mutate(info, connector_output, create_http_connector, organisation_id, connector_spec(input))


Mutation = merge_types(
    "Mutation",
    (CreateMutations, ConnectorMutations, ConnectionMutations, CredentialMutations, VersionMutations, LibraryMutations),
)
