"""Credential types: which data fields are secret, which are public, which configs they serve.

Type names are the REST wire values (`basic-auth`, `oauth2-client`, ...).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class CredentialShape:
    required: tuple[str, ...]
    public: tuple[str, ...]
    secret: tuple[str, ...]


SHAPES: dict[str, CredentialShape] = {
    "none": CredentialShape((), (), ()),
    "string": CredentialShape(("value",), (), ("value",)),
    "binary": CredentialShape(("valueBase64",), (), ("valueBase64",)),
    "basic-auth": CredentialShape(("username", "password"), ("username",), ("password",)),
    "oauth2-client": CredentialShape(
        ("clientId", "clientSecret", "authorizeUrl", "tokenUrl"),
        (
            "clientId",
            "authorizeUrl",
            "tokenUrl",
            "scopes",
            "additionalParams",
            "mTLSEnabled",
            "mTLSCredentialId",
        ),
        ("clientSecret",),
    ),
    # An authorization code is exchanged for a token later; until then the code and
    # state are kept encrypted and the credential reads back as an oauth2-token.
    "oauth2-code": CredentialShape(("code", "state"), (), ("code", "state")),
    "oauth2-password": CredentialShape(("username", "password"), ("username",), ("password",)),
    "oauth2-token": CredentialShape(("scopes",), ("scopes",), ("accessToken", "refreshToken")),
    "certificate": CredentialShape(("certificate", "key", "ca"), ("certificate", "ca"), ("key",)),
}

# The type a stored credential reports on read.
READ_TYPE = {"oauth2-code": "oauth2-token"}

# Fields that never appear in `redactedFields` although they are stored encrypted,
# because the type they read back as does not have them.
HIDDEN_SECRET_FIELDS = {"oauth2-code": ("code", "state")}

OAUTH2_TYPES_BY_GRANT = {
    "authorization_code": ("oauth2-token", "oauth2-code"),
    "client_credentials": ("oauth2-client",),
    "password": ("oauth2-password",),
}

TYPES_BY_SCHEME = {
    "none": ("none",),
    "api-key": ("string",),
    "hmac": ("string",),
    "basic-auth": ("basic-auth",),
    "certificate": ("certificate",),
}


def accepted_types(scheme_type: str, grant_type: str | None) -> tuple[str, ...]:
    """Return the credential types that can serve a config of this scheme and grant."""
    if scheme_type == "oauth2":
        return OAUTH2_TYPES_BY_GRANT.get(grant_type or "", ())
    return TYPES_BY_SCHEME.get(scheme_type, ())


def split_data(credential_type: str, data: dict[str, object]) -> tuple[dict[str, object], dict[str, object]]:
    """Split credential data into its public part and its secret part."""
    shape = SHAPES[credential_type]
    public = {key: data[key] for key in shape.public if key in data and data[key] is not None}
    secret = {key: data[key] for key in shape.secret if key in data and data[key] is not None}
    return public, secret


def redacted_fields(credential_type: str, secret: dict[str, object]) -> list[str]:
    hidden = HIDDEN_SECRET_FIELDS.get(credential_type, ())
    return [key for key in SHAPES[credential_type].secret if key in secret and key not in hidden]
