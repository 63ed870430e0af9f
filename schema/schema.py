"""The assembled Strawberry schema."""

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext
from strawberry.schema.config import StrawberryConfig

from schema.compiled import CompiledExecutionExtension, DocumentCacheExtension
from schema.mutation import Mutation
from schema.query import Query
from schema.scalars import SCALAR_MAP
from schema.types.auth_schemes import (
    AuthSchemeConfigAPIKey,
    AuthSchemeConfigBasicAuth,
    AuthSchemeConfigCertificate,
    AuthSchemeConfigHMAC,
    AuthSchemeConfigNone,
    AuthSchemeConfigOAuth2,
)
from schema.types.connectors import Connection, ConnectorVersion, HTTPConnector
from schema.types.credentials import Credential
from schema.validation import ValidationExtension, mark_one_of_inputs


class GatewaySchema(strawberry.Schema):
    """A schema that leaves error logging to the HTTP layer and one-of checks to graphql-core.

    Strawberry's default logs every error with its message, and coercion messages can quote
    submitted variable values, which may be secrets. One-of inputs: see schema/validation.py.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mark_one_of_inputs(self._schema)

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        return None


def build_schema() -> strawberry.Schema:
    return GatewaySchema(
        query=Query,
        mutation=Mutation,
        types=[
            HTTPConnector,
            Connection,
            ConnectorVersion,
            Credential,
            AuthSchemeConfigNone,
            AuthSchemeConfigAPIKey,
            AuthSchemeConfigBasicAuth,
            AuthSchemeConfigOAuth2,
            AuthSchemeConfigHMAC,
            AuthSchemeConfigCertificate,
        ],
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALAR_MAP),
        # DocumentCacheExtension comes first, so a cached document skips ValidationExtension.
        extensions=[DocumentCacheExtension, ValidationExtension, CompiledExecutionExtension],
    )


schema = build_schema()
