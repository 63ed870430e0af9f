"""Building credential rows: public data in clear, secret fields encrypted."""

from datetime import datetime
from typing import Any

from db import models
from resolvers.credential_types import redacted_fields, split_data
from resolvers.ids import new_id
from resolvers.secrets import SecretBox


def build_credential(
    box: SecretBox,
    organisation_id: str,
    credential_type: str,
    name: str,
    data: dict[str, Any],
    expires_at: datetime | None,
    now: datetime,
) -> models.Credential:
    credential_id = new_id()
    public, secret = split_data(credential_type, {key: value for key, value in data.items() if not key.startswith("__")})
    return models.Credential(
        id=credential_id,
        organisation_id=organisation_id,
        type=credential_type,
        name=name,
        name_folded=name.casefold(),
        public_data=public,
        redacted_fields=redacted_fields(credential_type, secret),
        secret=box.encrypt(organisation_id, credential_id, secret),
        errors=None,
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
    )


def merge_credential(
    box: SecretBox, credential: models.Credential, patch: dict[str, Any], now: datetime
) -> None:
    """Apply a JSON merge patch to a credential's data: omitted fields keep their value."""
    store_credential_data(box, credential, merged_credential_data(box, credential, patch), now)


def merged_credential_data(box: SecretBox, credential: models.Credential, patch: dict[str, Any]) -> dict[str, Any]:
    """Return the stored data, secrets decrypted, with a JSON merge patch applied (null removes a field)."""
    secret = box.decrypt(credential.organisation_id, credential.id, credential.secret)
    merged = {**credential.public_data, **secret}
    for key, value in patch.items():
        if key.startswith("__"):
            continue
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def store_credential_data(box: SecretBox, credential: models.Credential, data: dict[str, Any], now: datetime) -> None:
    """Replace a credential's data, encrypting its secret fields."""
    public, secret = split_data(credential.type, data)
    credential.public_data = public
    credential.redacted_fields = redacted_fields(credential.type, secret)
    credential.secret = box.encrypt(credential.organisation_id, credential.id, secret)
    credential.updated_at = now
