"""Persisted queries: the `persistedQuery` request extension and the allow-list mode.

A client sends `extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}`
with or without `query`. Without it, the gateway looks the hash up and replies
PersistedQueryNotFound when it is unknown, so the client sends the text once with the hash.
With it, the gateway checks that the text hashes to `sha256Hash` and stores the document
once it has passed validation. The documents live in the database, so every replica sees
a registration at once.

CONNECT_GATEWAY_PERSISTED_QUERIES selects the mode: `automatic` (the default) as above,
`off` to ignore the extension, or `allowlist`, where only documents registered with
`connect-gateway persisted-queries register` run and requests cannot register any.
"""

import re
from dataclasses import dataclass
from typing import Any

from app.limits import WeightedLRU
from app.settings import ENV_PREFIX
from db.engine import Database
from resolvers.persisted_queries import document_hash, find_persisted_query, save_persisted_query

SHA256_HEX = re.compile(r"[0-9a-f]{64}")
SUPPORTED_VERSION = 1


class PersistedQueryError(Exception):
    """A request the persisted query protocol rejects.

    `always_400` marks a malformed request, which gets HTTP 400 under either media type.
    The others are request errors like a validation error: HTTP 400 for
    application/graphql-response+json and 200 for application/json.
    """

    def __init__(self, message: str, code: str, *, always_400: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.always_400 = always_400


@dataclass(frozen=True)
class ResolvedDocument:
    text: str
    # Set when the request sent the text with a hash, which the caller stores after validation.
    register: bool


class PersistedQueries:
    def __init__(self, database: Database, mode: str, cache_characters: int) -> None:
        self.database = database
        self.mode = mode
        self._documents: WeightedLRU[str] = WeightedLRU(cache_characters)

    async def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> ResolvedDocument:
        """Return the document to run, or raise PersistedQueryError."""
        requested = (extensions or {}).get("persistedQuery")
        if self.mode == "off" or requested is None:
            if query is None:
                if requested is not None:
                    raise PersistedQueryError("PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED")
                raise PersistedQueryError("The `query` parameter is required and must be a non-empty string.", "BAD_REQUEST", always_400=True)
            if self.mode == "allowlist":
                await self._require_registered(document_hash(query))
            return ResolvedDocument(query, register=False)

        sha256 = _requested_hash(requested)
        if query is None:
            document = await self.find(sha256)
            if document is None:
                raise PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
            return ResolvedDocument(document, register=False)

        if document_hash(query) != sha256:
            raise PersistedQueryError(
                "The `persistedQuery.sha256Hash` extension does not match the SHA-256 hash of the `query` text.",
                "PERSISTED_QUERY_HASH_MISMATCH",
                always_400=True,
            )
        if self.mode == "allowlist":
            await self._require_registered(sha256)
            return ResolvedDocument(query, register=False)
        return ResolvedDocument(query, register=await self.find(sha256) is None)

    async def find(self, sha256: str) -> str | None:
        document = self._documents.get(sha256)
        if document is None:
            document = await find_persisted_query(self.database, sha256)
            if document is not None:
                self._documents.put(sha256, document, len(document))
        return document

    async def register(self, document: str) -> str:
        sha256 = await save_persisted_query(self.database, document)
        self._documents.put(sha256, document, len(document))
        return sha256

    async def _require_registered(self, sha256: str) -> None:
        if await self.find(sha256) is None:
            raise PersistedQueryError(
                f"The document is not registered, and {ENV_PREFIX}PERSISTED_QUERIES=allowlist runs only registered documents. "
                "Register it with `connect-gateway persisted-queries register FILE`.",
                "PERSISTED_QUERY_NOT_ALLOWED",
            )


def _requested_hash(requested: Any) -> str:
    if not isinstance(requested, dict):
        raise PersistedQueryError("The `persistedQuery` extension must be an object.", "BAD_REQUEST", always_400=True)
    if requested.get("version") != SUPPORTED_VERSION:
        raise PersistedQueryError(
            f"The `persistedQuery.version` extension must be {SUPPORTED_VERSION}, the only supported version.", "BAD_REQUEST", always_400=True
        )
    sha256 = requested.get("sha256Hash")
    if not isinstance(sha256, str) or not SHA256_HEX.fullmatch(sha256):
        raise PersistedQueryError(
            "The `persistedQuery.sha256Hash` extension must be 64 lowercase hexadecimal digits.", "BAD_REQUEST", always_400=True
        )
    return sha256
