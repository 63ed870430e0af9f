"""GraphQL enums. Names are the contract's UPPER_SNAKE values; Python values are REST wire values."""

from enum import Enum
from typing import Any, TypeVar

import strawberry


@strawberry.enum
class Protocol(Enum):
    HTTP = "http"
    BIGQUERY = "bigquery"


@strawberry.enum
class AuthSchemeType(Enum):
    NONE = "none"
    API_KEY = "api-key"
    BASIC_AUTH = "basic-auth"
    OAUTH2 = "oauth2"
    HMAC = "hmac"
    CERTIFICATE = "certificate"


@strawberry.enum
class ParameterLocation(Enum):
    QUERY = "query"
    HEADER = "header"
    COOKIE = "cookie"


@strawberry.enum(name="HMACAlgorithm")
class HMACAlgorithm(Enum):
    SHA1 = "sha1"
    SHA256 = "sha256"
    SHA512 = "sha512"


@strawberry.enum(name="HMACDigestInput")
class HMACDigestInput(Enum):
    BODY = "body"
    URL = "url"


@strawberry.enum(name="OAuth2GrantType")
class OAuth2GrantType(Enum):
    AUTHORIZATION_CODE = "authorization_code"
    CLIENT_CREDENTIALS = "client_credentials"
    PASSWORD = "password"


@strawberry.enum
class CredentialType(Enum):
    NONE = "none"
    STRING = "string"
    BINARY = "binary"
    BASIC_AUTH = "basic-auth"
    OAUTH2_CLIENT = "oauth2-client"
    OAUTH2_CODE = "oauth2-code"
    OAUTH2_PASSWORD = "oauth2-password"
    OAUTH2_TOKEN = "oauth2-token"
    CUSTOM_FUNCTION = "custom-function"
    CERTIFICATE = "certificate"
    JWT_BEARER = "jwt-bearer"


@strawberry.enum
class MessageSeverity(Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@strawberry.enum
class ErrorCode(Enum):
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INTERNAL = "INTERNAL"


@strawberry.enum(description="A connector category; each value's description is its REST API name.")
class Category(Enum):
    DEVELOPMENT_AND_IT = strawberry.enum_value("Development & IT", description="Development & IT")
    ERP = strawberry.enum_value("ERP", description="ERP")
    SUPPLY_CHAIN_AND_LOGISTICS = strawberry.enum_value("Supply Chain & Logistics", description="Supply Chain & Logistics")
    COMMUNICATION = strawberry.enum_value("Communication", description="Communication")
    ACCOUNTING = strawberry.enum_value("Accounting", description="Accounting")
    HOSPITALITY = strawberry.enum_value("Hospitality", description="Hospitality")
    PRODUCTIVITY = strawberry.enum_value("Productivity", description="Productivity")
    HR = strawberry.enum_value("HR", description="HR")
    CRM = strawberry.enum_value("CRM", description="CRM")
    AI_LLMS = strawberry.enum_value("AI/LLMs", description="AI/LLMs")
    ECOMMERCE = strawberry.enum_value("eCommerce", description="eCommerce")
    BUSINESS_OPERATIONS = strawberry.enum_value("Business Operations", description="Business Operations")


EnumType = TypeVar("EnumType", bound=Enum)


def member(enum_class: type[EnumType], value: Any) -> EnumType:
    """Return the member of `enum_class` with this value, as `enum_class(value)` does.

    A dictionary lookup finds a known value without Enum's Python-level call, which output
    types make for thousands of stored values per page of connector trees. Any other value,
    including an unhashable one, goes through `enum_class(value)` and raises as it does.
    """
    try:
        found = enum_class._value2member_map_.get(value)
    except TypeError:
        found = None
    return found if found is not None else enum_class(value)  # type: ignore[return-value]
