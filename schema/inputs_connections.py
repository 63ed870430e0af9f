"""Input types for changing a connection."""

import strawberry

from schema.inputs import ConnectionVariableInput
from schema.scalars import ULID

UNSET = strawberry.UNSET


@strawberry.input(description="One credential of the connection, by its ConnectionCredential id, and the config it serves.")
class ConnectionCredentialUpdateInput:
    id: ULID = strawberry.field(description="The id of the connection's ConnectionCredential.")
    auth_scheme_config_id: str = strawberry.field(
        description="A config of the connector with the same scheme type as before that accepts this credential's type."
    )


@strawberry.input(description="A purpose that is given lists every credential of that purpose once, in the order to apply them.")
class ConnectionCredentialsUpdateInput:
    action: list[ConnectionCredentialUpdateInput] | None = strawberry.field(default=UNSET, description="Omitted: unchanged.")
    trigger: list[ConnectionCredentialUpdateInput] | None = strawberry.field(default=UNSET, description="Omitted: unchanged.")


@strawberry.input
class ConnectionUpdateInput:
    name: str
    variables: list[ConnectionVariableInput] | None = strawberry.field(
        default=UNSET, description="Replaces the connection's own variables; `[]` clears them, omitted keeps them."
    )
    credentials: ConnectionCredentialsUpdateInput | None = strawberry.field(
        default=UNSET, description="Reorders credentials or moves them to another config; omitted keeps them."
    )
