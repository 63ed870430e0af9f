"""Small output types shared across the schema."""

from typing import Any

import strawberry

from resolvers.errors import DomainError
from schema.enums import ErrorCode, MessageSeverity, member


@strawberry.interface
class Node:
    id: strawberry.ID = strawberry.field(description="The object's ULID, unique across every type.")


@strawberry.type
class Message:
    text: str
    severity: MessageSeverity
    detail: list[str]

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> "Message":
        return cls(text=item["text"], severity=member(MessageSeverity, item["severity"]), detail=list(item.get("detail") or []))


@strawberry.type
class ConnectionVariable:
    name: str
    value: str


def variables_of(items: list[dict[str, str]]) -> list[ConnectionVariable]:
    return [ConnectionVariable(name=item["name"], value=item["value"]) for item in items]


@strawberry.type
class Tag:
    key: str
    values: list[str]


@strawberry.type(name="OAuth2Scope")
class OAuth2Scope:
    name: str
    description: str


@strawberry.type(description="One invalid input field; `field` is a path such as authSchemeConfigs[0].apiKey.name.")
class ErrorField:
    field: str
    message: str


@strawberry.type(description="A failure that the caller can act on, as in the REST API's Error body.")
class Error:
    code: ErrorCode
    message: str
    fields: list[ErrorField]
    details: str

    @classmethod
    def from_domain(cls, error: DomainError) -> "Error":
        return cls(
            code=ErrorCode(error.code.value),
            message=error.message,
            fields=[ErrorField(field=item.field, message=item.message) for item in error.fields],
            details=error.details,
        )


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None
