"""Auth scheme config output types, one per scheme, built from stored rows."""

from typing import Annotated, Any

import strawberry

from db import models
from schema.enums import AuthSchemeType, HMACAlgorithm, HMACDigestInput, OAuth2GrantType, ParameterLocation, member
from schema.scalars import ULID
from schema.types.common import Message, OAuth2Scope


@strawberry.interface
class AuthSchemeConfigBase:
    id: str
    description: str
    scheme_type: AuthSchemeType
    validation_messages: list[Message]


@strawberry.type
class AuthSchemeConfigNone(AuthSchemeConfigBase):
    pass


@strawberry.type(name="AuthSchemeConfigAPIKey")
class AuthSchemeConfigAPIKey(AuthSchemeConfigBase):
    name: str
    in_: ParameterLocation = strawberry.field(name="in")


@strawberry.type
class AuthSchemeConfigBasicAuth(AuthSchemeConfigBase):
    pass


@strawberry.type(description="The client secret of a grant is write-only: no output type carries it.")
class AuthSchemeConfigOAuth2GrantAuthorizationCode:
    grant_type: OAuth2GrantType
    credential_id: ULID | None
    organisation_id: ULID | None
    client_id: str | None


@strawberry.type
class AuthSchemeConfigOAuth2GrantClientCredentials:
    grant_type: OAuth2GrantType


@strawberry.type
class AuthSchemeConfigOAuth2GrantPassword:
    grant_type: OAuth2GrantType
    credential_id: ULID | None
    organisation_id: ULID | None
    client_id: str | None


AuthSchemeConfigOAuth2Grant = Annotated[
    AuthSchemeConfigOAuth2GrantAuthorizationCode
    | AuthSchemeConfigOAuth2GrantClientCredentials
    | AuthSchemeConfigOAuth2GrantPassword,
    strawberry.union("AuthSchemeConfigOAuth2Grant"),
]


@strawberry.type(name="AuthSchemeConfigOAuth2")
class AuthSchemeConfigOAuth2(AuthSchemeConfigBase):
    authorize_url: str
    token_url: str
    scopes: list[OAuth2Scope]
    default_scopes: list[str]
    additional_authorize_params: str
    additional_token_params: str
    mtls_enabled: bool
    mtls_credential_id: ULID | None
    grant: AuthSchemeConfigOAuth2Grant


@strawberry.type(name="AuthSchemeConfigHMAC")
class AuthSchemeConfigHMAC(AuthSchemeConfigBase):
    name: str
    in_: ParameterLocation = strawberry.field(name="in")
    algorithm: HMACAlgorithm
    digest_inputs: list[HMACDigestInput]


@strawberry.type
class AuthSchemeConfigCertificate(AuthSchemeConfigBase):
    pass


AuthSchemeConfig = Annotated[
    AuthSchemeConfigNone
    | AuthSchemeConfigAPIKey
    | AuthSchemeConfigBasicAuth
    | AuthSchemeConfigOAuth2
    | AuthSchemeConfigHMAC
    | AuthSchemeConfigCertificate,
    strawberry.union("AuthSchemeConfig"),
]


def _grant(stored: dict[str, Any]) -> Any:
    grant_type = member(OAuth2GrantType, stored["grantType"])
    if grant_type is OAuth2GrantType.CLIENT_CREDENTIALS:
        return AuthSchemeConfigOAuth2GrantClientCredentials(grant_type=grant_type)
    kind = AuthSchemeConfigOAuth2GrantPassword if grant_type is OAuth2GrantType.PASSWORD else AuthSchemeConfigOAuth2GrantAuthorizationCode
    return kind(
        grant_type=grant_type,
        credential_id=stored.get("credentialId"),
        organisation_id=stored.get("organisationId"),
        client_id=stored.get("clientId"),
    )


def auth_scheme_config_of(row: models.AuthSchemeConfig) -> Any:
    """Build the output object for one stored config."""
    common = {
        "id": row.config_id,
        "description": row.description,
        "scheme_type": member(AuthSchemeType, row.scheme_type),
        "validation_messages": [Message.from_json(item) for item in row.validation_messages],
    }
    settings = row.settings
    match row.scheme_type:
        case "api-key":
            return AuthSchemeConfigAPIKey(**common, name=settings["name"], in_=member(ParameterLocation, settings["in"]))
        case "hmac":
            return AuthSchemeConfigHMAC(
                **common,
                name=settings["name"],
                in_=member(ParameterLocation, settings["in"]),
                algorithm=member(HMACAlgorithm, settings["algorithm"]),
                digest_inputs=[member(HMACDigestInput, item) for item in settings["digestInputs"]],
            )
        case "oauth2":
            return AuthSchemeConfigOAuth2(
                **common,
                authorize_url=settings["authorizeUrl"],
                token_url=settings["tokenUrl"],
                scopes=[OAuth2Scope(name=scope["name"], description=scope["description"]) for scope in settings["scopes"]],
                default_scopes=list(settings["defaultScopes"]),
                additional_authorize_params=settings["additionalAuthorizeParams"],
                additional_token_params=settings["additionalTokenParams"],
                mtls_enabled=settings["mtlsEnabled"],
                mtls_credential_id=settings.get("mtlsCredentialId"),
                grant=_grant(settings["grant"]),
            )
        case "basic-auth":
            return AuthSchemeConfigBasicAuth(**common)
        case "certificate":
            return AuthSchemeConfigCertificate(**common)
        case _:
            return AuthSchemeConfigNone(**common)
