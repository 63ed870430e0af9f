"""Encryption of credential secrets at rest.

AES-256-GCM with a key derived from each configured secret key. The organisation id and
credential id are bound as associated data, so a ciphertext copied to another row or
organisation fails to decrypt. Several keys may be configured: the first encrypts, all
decrypt, which allows rotation.
"""

import hashlib
import json
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT_VERSION = b"\x01"
KEY_ID_LENGTH = 4
NONCE_LENGTH = 12


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


def _derive(secret_key: str) -> tuple[bytes, AESGCM]:
    material = secret_key.encode()
    key_id = hashlib.sha256(b"connect-gateway key id\x00" + material).digest()[:KEY_ID_LENGTH]
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"connect-gateway credentials v1")
    return key_id, AESGCM(hkdf.derive(material))


def _associated_data(organisation_id: str, credential_id: str) -> bytes:
    return f"credential:{organisation_id}:{credential_id}".encode()


class SecretBox:
    def __init__(self, secret_keys: Sequence[str]) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is required")
        derived = [_derive(key) for key in secret_keys]
        self._current_id, self._current = derived[0]
        self._by_id = dict(derived)

    def encrypt(self, organisation_id: str, credential_id: str, secret: dict[str, object]) -> bytes:
        nonce = os.urandom(NONCE_LENGTH)
        plaintext = json.dumps(secret, separators=(",", ":")).encode()
        aad = _associated_data(organisation_id, credential_id)
        return FORMAT_VERSION + self._current_id + nonce + self._current.encrypt(nonce, plaintext, aad)

    def decrypt(self, organisation_id: str, credential_id: str, blob: bytes) -> dict[str, object]:
        if blob[:1] != FORMAT_VERSION:
            raise SecretDecryptionError(f"credential {credential_id}: unknown ciphertext format")
        key_id = blob[1 : 1 + KEY_ID_LENGTH]
        cipher = self._by_id.get(key_id)
        if cipher is None:
            raise SecretDecryptionError(f"credential {credential_id}: encrypted with a key that is not configured")
        nonce_start = 1 + KEY_ID_LENGTH
        nonce = blob[nonce_start : nonce_start + NONCE_LENGTH]
        try:
            plaintext = cipher.decrypt(nonce, blob[nonce_start + NONCE_LENGTH :], _associated_data(organisation_id, credential_id))
        except InvalidTag as error:
            raise SecretDecryptionError(f"credential {credential_id}: ciphertext failed authentication") from error
        return json.loads(plaintext)

    def is_current(self, blob: bytes) -> bool:
        return blob[1 : 1 + KEY_ID_LENGTH] == self._current_id
