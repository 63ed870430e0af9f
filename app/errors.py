"""Formatting GraphQL errors for clients: mask the unexpected, never echo submitted values."""

import logging
import re
from typing import Any

from graphql import GraphQLError
from strawberry.exceptions import StrawberryGraphQLError

from resolvers.errors import DomainError
from resolvers.ids import new_id

logger = logging.getLogger("app.errors")

# graphql-core 3.3 quotes the submitted value in its coercion and syntax errors, for example
# "String cannot represent a non string value: 123" or "..., found: {'value': 'x'}.". The value
# may be a secret, so each known message form keeps its explanation and loses the value.
#
# A variable or argument error starts with a prefix naming it and the path inside it, such as
# "Variable '$i' has invalid value at .connections[0].name: "; paths hold only names and indices.
_PREFIX = re.compile(r"(?:Variable|Argument) '[^']*'(?: defined by fragment '\w+')? has invalid (?:default )?value(?: at [^:]*)?: ")
# "Expected value of type 'T' to be an object, found: <value>." and its variants. The error of a
# scalar parser is kept, because the parsers in schema/scalars.py never quote their input.
_FOUND = re.compile(r"(Expected value of type .*?)(?:[,;] found| Found): .*", re.DOTALL)
# "Int cannot represent non-integer value: <value>", "Enum 'Protocol' cannot represent non-enum value: <value>."
_CANNOT_REPRESENT = re.compile(r"(.*? cannot represent [^:]*?value): .*", re.DOTALL)
# "Value '<value>' does not exist in 'Protocol' enum." with optional suggestions of enum values.
_ENUM_VALUE = re.compile(r"Value '.*' does not exist in '(\w+)' enum\.((?: Did you mean [^?]*\?)?)", re.DOTALL)
# "Syntax Error: Expected Name, found String '<value>'." and "Syntax Error: Unexpected Int '<value>'."
_SYNTAX_TOKEN = re.compile(r"(Syntax Error: .*?(?:Unexpected|found) (?:String|BlockString|Name|Int|Float)) '.*", re.DOTALL)
# Any other message with one of these markers is cut at the first one, because graphql-core
# writes the value after them. This may cut part of the explanation too.
_UNKNOWN_FORM = re.compile(r"(.*?)(?:[,;] found| Found|value|but encountered error): .*", re.DOTALL)
# graphql-core's did_you_mean() appends " Did you mean 'a', 'b' or 'c'?" to a message.
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")


def _sentence(text: str) -> str:
    text = text.rstrip(" ,;:")
    return text if text.endswith((".", "?")) else text + "."


def redact_value(message: str) -> str:
    """Return the message without the submitted value it quotes, if any."""
    syntax_match = _SYNTAX_TOKEN.fullmatch(message)
    if syntax_match:
        return _sentence(syntax_match.group(1))

    prefix_match = _PREFIX.match(message)
    prefix = prefix_match.group(0) if prefix_match else ""
    inner = message[len(prefix) :]
    enum_match = _ENUM_VALUE.fullmatch(inner)
    if enum_match:
        return f"{prefix}The value is not a member of the '{enum_match.group(1)}' enum.{enum_match.group(2)}"
    for pattern in (_FOUND, _CANNOT_REPRESENT, _UNKNOWN_FORM):
        match = pattern.fullmatch(inner)
        if match:
            return prefix + _sentence(match.group(1))
    return message


def _is_expected(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, (GraphQLError, DomainError, StrawberryGraphQLError)):
        return True
    # Scalar parsers raise ValueError with a message written for clients; they run while
    # variables are coerced, before any field has a path.
    return isinstance(original, ValueError) and error.path is None


def format_error(error: GraphQLError, request_id: str, operation_name: str | None, *, suggestions: bool = True) -> dict[str, Any]:
    """Return the client's view of one error, logging unexpected ones once with an error id.

    `suggestions=False` removes graphql-core's "Did you mean ...?" hints, which reveal
    field, type and enum value names of the schema.
    """
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
    if not suggestions:
        formatted["message"] = _SUGGESTION.sub("", formatted["message"])
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", "INVALID_ARGUMENT" if error.path is None else "INTERNAL")
    formatted["extensions"] = extensions
    return formatted
