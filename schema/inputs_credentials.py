"""Input types for updating a credential: a JSON merge patch of its data.

Every field is optional. An omitted field keeps its stored value (secrets included), and a
field set to null is removed, which is invalid for a required field.
"""

import strawberry

from schema.inputs import CredentialDataNoneInput
from schema.scalars import ULID, DateTime

UNSET = strawberry.UNSET


@strawberry.input
class CredentialDataStringPatchInput:
    value: str | None = UNSET


@strawberry.input
class CredentialDataBinaryPatchInput:
    value_base64: str | None = UNSET


@strawberry.input
class CredentialDataBasicAuthPatchInput:
    username: str | None = UNSET
    password: str | None = UNSET


@strawberry.input(name="CredentialDataOAuth2ClientPatchInput")
class CredentialDataOAuth2ClientPatchInput:
    client_id: str | None = UNSET
    client_secret: str | None = UNSET
    authorize_url: str | None = UNSET
    token_url: str | None = UNSET
    scopes: list[str] | None = UNSET
    additional_params: str | None = UNSET
    mtls_enabled: bool | None = strawberry.field(default=UNSET, name="mTLSEnabled")
    mtls_credential_id: ULID | None = strawberry.field(default=UNSET, name="mTLSCredentialId")


@strawberry.input(name="CredentialDataOAuth2CodePatchInput")
class CredentialDataOAuth2CodePatchInput:
    code: str | None = UNSET
    state: str | None = UNSET


@strawberry.input(name="CredentialDataOAuth2PasswordPatchInput")
class CredentialDataOAuth2PasswordPatchInput:
    username: str | None = UNSET
    password: str | None = UNSET


@strawberry.input(name="CredentialDataOAuth2TokenPatchInput")
class CredentialDataOAuth2TokenPatchInput:
    scopes: list[str] | None = UNSET
    access_token: str | None = UNSET
    refresh_token: str | None = UNSET


@strawberry.input
class CredentialDataCertificatePatchInput:
    certificate: str | None = UNSET
    key: str | None = UNSET
    ca: str | None = UNSET


@strawberry.input(
    one_of=True,
    description="Exactly one key, named after the credential's stored type as in CredentialDataInput.",
)
class CredentialDataPatchInput:
    none: CredentialDataNoneInput | None = UNSET
    string: CredentialDataStringPatchInput | None = UNSET
    binary: CredentialDataBinaryPatchInput | None = UNSET
    basic_auth: CredentialDataBasicAuthPatchInput | None = UNSET
    oauth2_client: CredentialDataOAuth2ClientPatchInput | None = UNSET
    oauth2_code: CredentialDataOAuth2CodePatchInput | None = UNSET
    oauth2_password: CredentialDataOAuth2PasswordPatchInput | None = UNSET
    oauth2_token: CredentialDataOAuth2TokenPatchInput | None = UNSET
    certificate: CredentialDataCertificatePatchInput | None = UNSET


@strawberry.input(description="Omitted fields keep their value.")
class CredentialUpdateInput:
    name: str | None = UNSET
    data: CredentialDataPatchInput | None = strawberry.field(
        default=UNSET, description="A JSON merge patch of the data: omitted fields, secrets included, keep their stored value."
    )
    expires_at: DateTime | None = strawberry.field(default=UNSET, description="Null clears the expiry.")
