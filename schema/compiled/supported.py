"""The resolvers that the compiled path may call, and what it may assume about the schema."""

from collections.abc import Callable
from typing import Any

import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.pages import ConnectorConnection, CredentialConnection
from schema.query import Query
from schema.types.connectors import Connection, ConnectionCredential, Connector
from schema.types.credentials import Credential

# Resolvers that read nothing from `info` but `info.context`, and that load through the
# request's DataLoaders (or run one read per root field). Calling one of them once per parent
# object, all parents of a level together, runs the same statements as graphql-core does.
# A field whose resolver is not listed here makes its whole document use that executor.
SUPPORTED_RESOLVER_FIELDS: tuple[tuple[type, str], ...] = (
    (Query, "node"),
    (Query, "nodes"),
    (Query, "connector"),
    (Query, "connectors"),
    (Query, "credential"),
    (Query, "credentials"),
    (ConnectorConnection, "total_count"),
    (CredentialConnection, "total_count"),
    (Connector, "auth_scheme_configs"),
    (Connector, "connections"),
    (Connector, "versions"),
    (Connector, "version"),
    (Connection, "variables"),
    (Connection, "connector"),
    (Connection, "credentials"),
    (ConnectionCredential, "auth_scheme_config"),
    (ConnectionCredential, "credential"),
    (Credential, "usages"),
)


def supported_resolvers() -> frozenset[Callable[..., Any]]:
    """Return the functions behind SUPPORTED_RESOLVER_FIELDS.

    A listed field that has no resolver (any more) is left out rather than failing the import,
    so the compiled path stays usable while others change the schema.
    """
    functions = set()
    for owner, python_name in SUPPORTED_RESOLVER_FIELDS:
        for field in owner.__strawberry_definition__.fields:
            if field.python_name == python_name and field.base_resolver is not None:
                functions.add(field.base_resolver.wrapped_func)
    return frozenset(functions)


def incompatibility(schema: strawberry.Schema) -> str | None:
    """Return why the compiled path cannot serve this schema, or None when it can.

    Extensions keep working around the compiled path, except per-field `resolve` hooks,
    which it never calls. It also assumes Strawberry's defaults for everything that
    changes how a field's value is read or completed.
    """
    for extension in schema.extensions:
        if not isinstance(extension, type) or not issubclass(extension, SchemaExtension):
            return f"the schema has an extension factory {extension!r}, which may resolve fields"
        if extension.resolve is not SchemaExtension.resolve:
            return f"the schema extension {extension.__name__} resolves fields"
    if schema.directives:
        return "the schema has custom directives"
    if schema.exception_handlers:
        return "the schema has exception handlers"
    if schema.config.default_resolver is not getattr:
        return "the schema has a custom default resolver"
    if schema.execution_context_class is not StrawberryGraphQLCoreExecutionContext:
        return "the schema has a custom execution context class"
    if schema.config.enable_experimental_incremental_execution:
        return "the schema enables incremental delivery"
    return None
