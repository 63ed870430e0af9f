"""Selection of the operation to run from a document, as GetOperation in the GraphQL specification."""

import orjson
from graphql import DocumentNode, OperationDefinitionNode

# The operation names that an error message lists before it summarises the rest.
MAX_LISTED_OPERATIONS = 10
# A requested operationName longer than this is cut in error messages.
MAX_QUOTED_NAME_LENGTH = 100


def document_operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [definition for definition in document.definitions if isinstance(definition, OperationDefinitionNode)]


def select_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """Return the operation that `operation_name` selects, or None when it selects none or is ambiguous."""
    operations = document_operations(document)
    if operation_name is not None:
        return next((operation for operation in operations if operation.name and operation.name.value == operation_name), None)
    return operations[0] if len(operations) == 1 else None


def operation_selection_error(document: DocumentNode, operation_name: str | None) -> str | None:
    """Return why `operation_name` selects no operation of the document, or None when it selects one.

    Strawberry (0.341) runs the first operation when a document has several and no name is
    given, and fails with an internal error for a name the document does not define. The
    specification makes both request errors, so the endpoint checks before execution.
    """
    operations = document_operations(document)
    if not operations:
        return "The document contains no operation to run. Add a query or mutation."
    if operation_name is None:
        if len(operations) == 1:
            return None
        return (
            f"The document contains {len(operations)} operations ({_list_names(operations)}), so operationName is required. "
            "Set it to the name of the one to run."
        )
    if select_operation(document, operation_name) is not None:
        return None
    missing = f"Operation {_quote(operation_name)} not found in the document."
    if len(operations) > 1:
        return f"{missing} Its operations are {_list_names(operations)}. Set operationName to one of them."
    only = operations[0]
    if only.name is None:
        return f"{missing} Its only operation has no name, so leave out operationName to run it."
    return f"{missing} Its only operation is {_quote(only.name.value)}. Set operationName to that name, or leave it out."


def _list_names(operations: list[OperationDefinitionNode]) -> str:
    names = [_quote(operation.name.value) if operation.name else "an operation without a name" for operation in operations]
    listed = ", ".join(names[:MAX_LISTED_OPERATIONS])
    if len(names) > MAX_LISTED_OPERATIONS:
        listed += f" and {len(names) - MAX_LISTED_OPERATIONS} more"
    return listed


def _quote(name: str) -> str:
    """Quote a name as a JSON string, so quotes and control characters in it stay visible."""
    if len(name) > MAX_QUOTED_NAME_LENGTH:
        name = name[:MAX_QUOTED_NAME_LENGTH] + "…"
    return orjson.dumps(name).decode()
