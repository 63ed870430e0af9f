"""Formatting GraphQL errors for clients: mask the unexpected, never echo submitted values."""

import logging
import re
from typing import Any

from graphql import GraphQLError
from strawberry.exceptions import StrawberryGraphQLError

from resolvers.errors import DomainError
from resolvers.ids import new_id

logger = logging.getLogger("app.errors")

# graphql-core and scalar parsers quote the submitted value after these words, for example
# "String cannot represent a non string value: 'x'" or "..., found: {'value': 'x'}".
# Everything from the marker on is dropped, since the value may be a secret.
_VALUE_TAIL = re.compile(r"(?:;|,)? ?(?:but encountered error|[Ff]ound:|value:|cannot represent value:).*$", re.DOTALL)
_ENUM_VALUE = re.compile(r"^Value '.*' does not exist in '(\w+)' enum\..*$", re.DOTALL)


def redact_value(message: str) -> str:
    """Return the message without the submitted value it quotes, if any."""
    enum_match = _ENUM_VALUE.match(message)
    if enum_match:
        return f"The value is not a member of the '{enum_match.group(1)}' enum."
    if message.startswith("Variable '$") or "cannot represent" in message or "Expected value of type" in message:
        stripped = _VALUE_TAIL.sub("", message).rstrip(" :;,")
        return stripped + "."
    return message


def _is_expected(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, (GraphQLError, DomainError, StrawberryGraphQLError)):
        return True
    # Scalar parsers raise ValueError with a message written for clients; they run while
    # variables are coerced, before any field has a path.
    return isinstance(original, ValueError) and error.path is None


def format_error(error: GraphQLError, request_id: str, operation_name: str | None) -> dict[str, Any]:
    """Return the client's view of one error, logging unexpected ones once with an error id."""
    if not _is_expected(error):
        error_id = new_id()
        logger.error(
            "unexpected error in resolver",
            exc_info=error.original_error,
            extra={"error_id": error_id, "request_id": request_id, "operation_name": operation_name, "path": error.path},
        )
        formatted: dict[str, Any] = {
            "message": f"Internal error; quote error id {error_id} when reporting it.",
            "extensions": {"code": "INTERNAL", "errorId": error_id},
        }
        if error.path:
            formatted["path"] = error.path
        return formatted

    formatted = error.formatted
    if error.path is None:
        formatted["message"] = redact_value(error.message)
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", "INVALID_ARGUMENT" if error.path is None else "INTERNAL")
    formatted["extensions"] = extensions
    return formatted
