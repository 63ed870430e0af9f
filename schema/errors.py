"""Turning expected failures into GraphQL errors for fields that have no Error union."""

from graphql import GraphQLError

from resolvers.errors import DomainError


def graphql_error(error: DomainError) -> GraphQLError:
    return GraphQLError(
        error.message,
        extensions={
            "code": error.code.value,
            "fields": [{"field": item.field, "message": item.message} for item in error.fields],
        },
    )
