"""Leaf values (scalars and enums), coerced exactly as graphql-core's executor coerces them."""

from collections.abc import Callable
from typing import Any

from graphql import GraphQLBoolean, GraphQLEnumType, GraphQLID, GraphQLLeafType, GraphQLString, Undefined


class CompletionError(Exception):
    """A resolved value does not fit its field's type.

    graphql-core turns such a value into a field error, so the compiled path
    raises this and lets that executor produce the response.
    """


Coerce = Callable[[Any], Any]


def checked_coercion(leaf_type: GraphQLLeafType) -> Coerce:
    """Return the leaf type's output coercion, raising where graphql-core reports an error.

    graphql-core 3.3 (`complete_leaf_value`) treats a coerced value of None or Undefined
    as an error, and so does this.
    """
    coerce = leaf_type.coerce_output_value

    def coerce_checked(value: Any) -> Any:
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise CompletionError(f"{leaf_type.name} cannot represent the value {value!r}.")
        return coerced

    return coerce_checked


def passthrough_type(leaf_type: GraphQLLeafType) -> type | None:
    """Return the Python type whose values the leaf type outputs unchanged, if any.

    graphql-core's String and ID serializers return a `str` as it is, and its Boolean
    serializer returns a `bool` as it is, so values of exactly these types skip the call.
    """
    if leaf_type is GraphQLString or leaf_type is GraphQLID:
        return str
    if leaf_type is GraphQLBoolean:
        return bool
    return None


def enum_names(leaf_type: GraphQLLeafType) -> dict[Any, str] | None:
    """Return the output name of each member of a Strawberry enum, computed by its own coercion."""
    members = getattr(leaf_type, "wrapped_cls", None)
    if not isinstance(leaf_type, GraphQLEnumType) or members is None:
        return None
    coerce = checked_coercion(leaf_type)
    return {member: coerce(member) for member in members}
