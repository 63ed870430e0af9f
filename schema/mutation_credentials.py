"""Mutations on the credentials of an organisation."""

from typing import Annotated

import strawberry

from resolvers import credential_ops
from schema.convert import credential_create_spec, credential_patch_spec
from schema.inputs import CredentialInput
from schema.inputs_credentials import CredentialUpdateInput
from schema.mutation_support import credential_output, deleted_output, mutate
from schema.scalars import ULID
from schema.types.common import Error
from schema.types.connectors import Info
from schema.types.credentials import Credential
from schema.types.lifecycle import Deleted

CreateCredentialResult = Annotated[Credential | Error, strawberry.union("CreateCredentialResult")]
UpdateCredentialResult = Annotated[Credential | Error, strawberry.union("UpdateCredentialResult")]
DeleteCredentialResult = Annotated[Deleted | Error, strawberry.union("DeleteCredentialResult")]


@strawberry.type
class CredentialMutations:
    @strawberry.mutation(description="Create a credential in the organisation; its secret fields are stored encrypted.")
    async def create_credential(self, info: Info, organisation_id: ULID, input: CredentialInput) -> CreateCredentialResult:
        spec = credential_create_spec(input, "input")
        return await mutate(info, credential_output, credential_ops.create_credential, organisation_id, spec)

    @strawberry.mutation(
        description=(
            "Update a credential. `data` is a JSON merge patch: omitted fields, secrets included, keep their stored "
            "value, and null removes a field. The data must be of the credential's type, which never changes."
        )
    )
    async def update_credential(
        self, info: Info, organisation_id: ULID, id: ULID, input: CredentialUpdateInput
    ) -> UpdateCredentialResult:
        spec = credential_patch_spec(input, "input")
        return await mutate(info, credential_output, credential_ops.update_credential, organisation_id, id, spec)

    @strawberry.mutation(
        description=(
            "Delete a credential. FAILED_PRECONDITION while any connection applies it or an auth scheme config names "
            "it; the error's `details` lists each usage on its own line."
        )
    )
    async def delete_credential(self, info: Info, organisation_id: ULID, id: ULID) -> DeleteCredentialResult:
        return await mutate(info, deleted_output, credential_ops.delete_credential, organisation_id, id)
