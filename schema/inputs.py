"""Input types of the contract. Inner grant and credential-data shapes use the REST field names."""


import strawberry

from schema.enums import Category, CredentialType, HMACAlgorithm, HMACDigestInput, ParameterLocation, Protocol
from schema.scalars import ULID, DateTime

UNSET = strawberry.UNSET

_EMPTY_INPUT_FIELD = "Ignored. GraphQL needs one field in every input object; send {} to use this type."


@strawberry.input
class TagInput:
    key: str
    values: list[str]


@strawberry.input
class ConnectionVariableInput:
    name: str
    value: str


@strawberry.input(name="OAuth2ScopeInput")
class OAuth2ScopeInput:
    name: str
    description: str | None = UNSET


@strawberry.input
class AuthSchemeConfigNoneInput:
    id: str
    description: str


@strawberry.input(name="AuthSchemeConfigAPIKeyInput")
class AuthSchemeConfigAPIKeyInput:
    id: str
    description: str
    name: str
    in_: ParameterLocation = strawberry.field(name="in")


@strawberry.input
class AuthSchemeConfigBasicAuthInput:
    id: str
    description: str


@strawberry.input(name="OAuth2GrantAuthorizationCodeInput")
class OAuth2GrantAuthorizationCodeInput:
    credential_id: ULID | None = UNSET
    organisation_id: ULID | None = UNSET
    client_id: str | None = UNSET
    client_secret: str | None = UNSET


@strawberry.input(name="OAuth2GrantClientCredentialsInput")
class OAuth2GrantClientCredentialsInput:
    unused: bool | None = strawberry.field(default=UNSET, description=_EMPTY_INPUT_FIELD)


@strawberry.input(name="OAuth2GrantPasswordInput")
class OAuth2GrantPasswordInput:
    credential_id: ULID | None = UNSET
    organisation_id: ULID | None = UNSET
    client_id: str | None = UNSET
    client_secret: str | None = UNSET


@strawberry.input(name="OAuth2GrantInput", one_of=True, description="Exactly one key: the grant type.")
class OAuth2GrantInput:
    authorization_code: OAuth2GrantAuthorizationCodeInput | None = UNSET
    client_credentials: OAuth2GrantClientCredentialsInput | None = UNSET
    password: OAuth2GrantPasswordInput | None = UNSET


@strawberry.input(name="AuthSchemeConfigOAuth2Input")
class AuthSchemeConfigOAuth2Input:
    id: str
    description: str
    authorize_url: str
    token_url: str
    scopes: list[OAuth2ScopeInput]
    default_scopes: list[str]
    grant: OAuth2GrantInput
    additional_authorize_params: str | None = UNSET
    additional_token_params: str | None = UNSET
    mtls_enabled: bool | None = UNSET
    mtls_credential_id: ULID | None = UNSET


@strawberry.input(name="AuthSchemeConfigHMACInput")
class AuthSchemeConfigHMACInput:
    id: str
    description: str
    name: str
    in_: ParameterLocation = strawberry.field(name="in")
    algorithm: HMACAlgorithm
    digest_inputs: list[HMACDigestInput]


@strawberry.input
class AuthSchemeConfigCertificateInput:
    id: str
    description: str


@strawberry.input(one_of=True, description="Exactly one key: the scheme type of this config.")
class AuthSchemeConfigInput:
    none: AuthSchemeConfigNoneInput | None = UNSET
    api_key: AuthSchemeConfigAPIKeyInput | None = UNSET
    basic_auth: AuthSchemeConfigBasicAuthInput | None = UNSET
    oauth2: AuthSchemeConfigOAuth2Input | None = UNSET
    hmac: AuthSchemeConfigHMACInput | None = UNSET
    certificate: AuthSchemeConfigCertificateInput | None = UNSET


@strawberry.input
class CredentialDataNoneInput:
    unused: bool | None = strawberry.field(default=UNSET, description=_EMPTY_INPUT_FIELD)


@strawberry.input
class CredentialDataStringInput:
    value: str


@strawberry.input
class CredentialDataBinaryInput:
    value_base64: str


@strawberry.input
class CredentialDataBasicAuthInput:
    username: str
    password: str


@strawberry.input(name="CredentialDataOAuth2ClientInput")
class CredentialDataOAuth2ClientInput:
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    scopes: list[str] | None = UNSET
    additional_params: str | None = UNSET
    mtls_enabled: bool | None = strawberry.field(default=UNSET, name="mTLSEnabled")
    mtls_credential_id: ULID | None = strawberry.field(default=UNSET, name="mTLSCredentialId")


@strawberry.input(name="CredentialDataOAuth2CodeInput")
class CredentialDataOAuth2CodeInput:
    code: str
    state: str


@strawberry.input(name="CredentialDataOAuth2PasswordInput")
class CredentialDataOAuth2PasswordInput:
    username: str
    password: str


@strawberry.input(name="CredentialDataOAuth2TokenInput")
class CredentialDataOAuth2TokenInput:
    scopes: list[str]
    access_token: str | None = UNSET
    refresh_token: str | None = UNSET


@strawberry.input
class CredentialDataCertificateInput:
    certificate: str
    key: str
    ca: str


@strawberry.input(
    one_of=True,
    description=(
        "Exactly one key, named after the credential type: none, string, binary, basicAuth, "
        "oauth2Client, oauth2Code, oauth2Password, oauth2Token, certificate."
    ),
)
class CredentialDataInput:
    none: CredentialDataNoneInput | None = UNSET
    string: CredentialDataStringInput | None = UNSET
    binary: CredentialDataBinaryInput | None = UNSET
    basic_auth: CredentialDataBasicAuthInput | None = UNSET
    oauth2_client: CredentialDataOAuth2ClientInput | None = UNSET
    oauth2_code: CredentialDataOAuth2CodeInput | None = UNSET
    oauth2_password: CredentialDataOAuth2PasswordInput | None = UNSET
    oauth2_token: CredentialDataOAuth2TokenInput | None = UNSET
    certificate: CredentialDataCertificateInput | None = UNSET


@strawberry.input
class CredentialInput:
    name: str
    data: CredentialDataInput
    expires_at: DateTime | None = UNSET


@strawberry.input(description="A credential for one auth scheme config: either an existing credential or a new one.")
class ConnectionCredentialInput:
    auth_scheme_config_id: str
    credential_id: ULID | None = UNSET
    credential: CredentialInput | None = UNSET


@strawberry.input
class ConnectionCredentialsInput:
    action: list[ConnectionCredentialInput] | None = UNSET
    trigger: list[ConnectionCredentialInput] | None = UNSET


@strawberry.input
class ConnectionCreateInput:
    name: str
    variables: list[ConnectionVariableInput] | None = UNSET
    credentials: ConnectionCredentialsInput | None = UNSET


@strawberry.input(name="HTTPConnectorCreateInput")
class HTTPConnectorCreateInput:
    name: str
    base_url: str
    auth_scheme_configs: list[AuthSchemeConfigInput]
    connections: list[ConnectionCreateInput]
    connection_variables: list[ConnectionVariableInput] | None = UNSET
    tags: list[TagInput] | None = UNSET
    public: bool | None = UNSET
    documentation_url: str | None = strawberry.field(default=UNSET, name="documentationURL")
    image_url: str | None = strawberry.field(default=UNSET, name="imageURL")


@strawberry.input
class TagFilter:
    key: str
    value: str | None = UNSET


@strawberry.input
class ConnectorFilter:
    name: str | None = strawberry.field(default=UNSET, description="Case-insensitive substring of the name.")
    protocol: Protocol | None = UNSET
    tags: list[TagFilter] | None = strawberry.field(
        default=UNSET, description="Every tag listed must match; a tag without value matches any value of that key."
    )
    public: bool | None = UNSET
    categories: list[Category] | None = strawberry.field(
        default=UNSET, description="A connector matches when it has any of the categories listed."
    )


@strawberry.input
class CredentialFilter:
    name: str | None = UNSET
    type: CredentialType | None = UNSET


