"""Mutations on the public connector library."""

from typing import Annotated

import strawberry

from resolvers import library
from schema.mutation_support import connector_output, mutate
from schema.scalars import ULID
from schema.types.common import Error
from schema.types.connectors import HTTPConnector, Info

ImportPublicConnectorVersionResult = Annotated[HTTPConnector | Error, strawberry.union("ImportPublicConnectorVersionResult")]


@strawberry.type
class LibraryMutations:
    @strawberry.mutation(
        description=(
            "Copy a public connector (of any organisation) and one of its published versions into this organisation "
            "as a new private connector without connections, whose one version is a draft of the same name. "
            "`version` takes a version name, `latest` or `default`."
        )
    )
    async def import_public_connector_version(
        self, info: Info, organisation_id: ULID, connector_id: ULID, version: str
    ) -> ImportPublicConnectorVersionResult:
        return await mutate(info, connector_output, library.import_public_connector_version, organisation_id, connector_id, version)
