"""Expected failures: one exception type that both API surfaces turn into an Error."""

from dataclasses import dataclass, field
from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    INTERNAL = "INTERNAL"


HTTP_STATUS = {
    ErrorCode.INVALID_ARGUMENT: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.ALREADY_EXISTS: 409,
    ErrorCode.FAILED_PRECONDITION: 409,
    ErrorCode.RESOURCE_EXHAUSTED: 429,
    ErrorCode.INTERNAL: 500,
}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class DomainError(Exception):
    """A failure the caller can act on; `fields` lists every invalid input field."""

    code: ErrorCode
    message: str
    fields: list[FieldError] = field(default_factory=list)
    details: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class FieldErrors:
    """Collects field problems so validation reports all of them at once."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(FieldError(path, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, message: str = "The input is invalid; see `fields` for each problem.") -> None:
        if self.items:
            raise DomainError(ErrorCode.INVALID_ARGUMENT, message, list(self.items))


def not_found(kind: str, identifier: str) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{kind} {identifier} was not found.")


def invalid(field_path: str, message: str) -> DomainError:
    return DomainError(ErrorCode.INVALID_ARGUMENT, f"{field_path} {message}", [FieldError(field_path, message)])
