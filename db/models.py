"""SQLModel tables of the connector model.

Every row carries the organisation that owns it, so tenancy filters never need a join.
Ids are ULID strings in upper case; ordering by (updated_at, id) gives stable keyset pages.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from db.types import UTCDateTime

ULID_LENGTH = 26


def _ulid(**kwargs: Any) -> Any:
    return Field(sa_type=String(ULID_LENGTH), **kwargs)


def _timestamp(**kwargs: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kwargs)


def _json(**kwargs: Any) -> Any:
    return Field(sa_column=Column(JSON, nullable=False, **kwargs))


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: str = _ulid(primary_key=True)
    organisation_id: str = _ulid(index=True)
    key_hash: str = Field(sa_type=String(64), unique=True)
    created_at: datetime = _timestamp()


class Connector(SQLModel, table=True):
    __tablename__ = "connector"
    __table_args__ = (
        Index("ix_connector_org_updated", "organisation_id", "updated_at", "id"),
        Index("ix_connector_public_updated", "public", "updated_at", "id"),
    )

    id: str = _ulid(primary_key=True)
    organisation_id: str = _ulid()
    name: str = Field(sa_type=String(255))
    # Case-folded name for case-insensitive search that behaves the same on every backend
    # (SQLite's lower() folds ASCII only).
    name_folded: str = Field(sa_type=String(1024))
    protocol: str = Field(sa_type=String(16))
    base_url: str = Field(sa_type=String(2048))
    public: bool = False
    documentation_url: str = Field(default="", sa_type=String(2048))
    image_url: str = Field(default="", sa_type=String(2048))
    tags: list[dict[str, Any]] = _json()
    connection_variables: list[dict[str, str]] = _json()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class ConnectorTag(SQLModel, table=True):
    """One tag value of a connector, for filtering; `connector.tags` keeps the order for reads.

    A key with no values has one row whose value is NULL, so key-only filters find it.
    """

    __tablename__ = "connector_tag"
    __table_args__ = (Index("ix_connector_tag_key_value", "key", "value"),)

    id: int | None = Field(default=None, primary_key=True)
    connector_id: str = _ulid(index=True, foreign_key="connector.id", ondelete="CASCADE")
    key: str = Field(sa_type=String(255))
    value: str | None = Field(default=None, sa_type=String(255), nullable=True)


class AuthSchemeConfig(SQLModel, table=True):
    """One auth scheme config of a connector; `config_id` is chosen by the client."""

    __tablename__ = "auth_scheme_config"

    connector_id: str = _ulid(primary_key=True, foreign_key="connector.id", ondelete="CASCADE")
    config_id: str = Field(sa_type=String(255), primary_key=True)
    position: int
    scheme_type: str = Field(sa_type=String(32))
    description: str = Field(default="", sa_type=String(4096))
    settings: dict[str, Any] = _json()
    validation_messages: list[dict[str, Any]] = _json()


class Connection(SQLModel, table=True):
    __tablename__ = "connection"
    __table_args__ = (UniqueConstraint("connector_id", "name", name="uq_connection_name"),)

    id: str = _ulid(primary_key=True)
    organisation_id: str = _ulid(index=True)
    connector_id: str = _ulid(foreign_key="connector.id", ondelete="CASCADE")
    name: str = Field(sa_type=String(255))
    variables: list[dict[str, str]] = _json()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class Credential(SQLModel, table=True):
    """A credential: public data in clear, secret fields only as ciphertext."""

    __tablename__ = "credential"
    __table_args__ = (Index("ix_credential_org_updated", "organisation_id", "updated_at", "id"),)

    id: str = _ulid(primary_key=True)
    organisation_id: str = _ulid()
    type: str = Field(sa_type=String(32))
    name: str = Field(sa_type=String(255))
    name_folded: str = Field(sa_type=String(1024))
    public_data: dict[str, Any] = _json()
    redacted_fields: list[str] = _json()
    secret: bytes = Field(sa_type=LargeBinary)
    errors: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    expires_at: datetime | None = _timestamp(default=None, nullable=True)
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class ConnectionCredential(SQLModel, table=True):
    """A credential applied to a connection for one auth scheme config, in order."""

    __tablename__ = "connection_credential"

    id: str = _ulid(primary_key=True)
    connection_id: str = _ulid(index=True, foreign_key="connection.id", ondelete="CASCADE")
    purpose: str = Field(sa_type=String(16))
    position: int
    auth_scheme_config_id: str = Field(sa_type=String(255))
    credential_id: str = _ulid(index=True, foreign_key="credential.id")


class ConnectorCategory(SQLModel, table=True):
    """One category of a connector; `position` keeps the order the client gave."""

    __tablename__ = "connector_category"
    __table_args__ = (Index("ix_connector_category_category", "category", "connector_id"),)

    connector_id: str = _ulid(primary_key=True, foreign_key="connector.id", ondelete="CASCADE")
    category: str = Field(sa_type=String(64), primary_key=True)
    position: int


class ConnectorVersion(SQLModel, table=True):
    __tablename__ = "connector_version"
    __table_args__ = (
        UniqueConstraint("connector_id", "name", name="uq_connector_version_name"),
        # At most one default version per connector, enforced by the database so two
        # concurrent setDefaultConnectorVersion calls cannot both win.
        Index(
            "uq_connector_version_default",
            "connector_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: str = _ulid(primary_key=True)
    organisation_id: str = _ulid(index=True)
    connector_id: str = _ulid(foreign_key="connector.id", ondelete="CASCADE")
    name: str = Field(sa_type=String(255))
    description: str = Field(default="", sa_type=String(4096))
    is_default: bool = False
    published_at: datetime | None = _timestamp(default=None, nullable=True)
    messages: list[dict[str, Any]] = _json()
    created_at: datetime = _timestamp()
    updated_at: datetime = _timestamp()


class ConnectorVersionSubscriber(SQLModel, table=True):
    """A product that uses a published version, such as a live integration.

    While a version has subscribers it can be neither unpublished nor deleted, and its
    connector and that connector's connections can be deleted only with `force`.
    """

    __tablename__ = "connector_version_subscriber"
    __table_args__ = (
        UniqueConstraint("version_id", "product", "reference", name="uq_connector_version_subscriber"),
    )

    id: str = _ulid(primary_key=True)
    organisation_id: str = _ulid()
    connector_id: str = _ulid(index=True, foreign_key="connector.id", ondelete="CASCADE")
    version_id: str = _ulid(foreign_key="connector_version.id", ondelete="CASCADE")
    product: str = Field(sa_type=String(255))
    reference: str = Field(sa_type=String(1024))
    created_at: datetime = _timestamp()


class PersistedQuery(SQLModel, table=True):
    """A GraphQL document stored under the SHA-256 hash of its text.

    Shared by every organisation: the hash names only the document, and running a
    document still checks the caller's access to each organisation it reads.
    """

    __tablename__ = "persisted_query"

    sha256: str = Field(sa_type=String(64), primary_key=True)
    document: str = Field(sa_type=Text)
    created_at: datetime = _timestamp()


class RateLimitBucket(SQLModel, table=True):
    """The tokens left in one rate-limit bucket, shared by every replica.

    `bucket` names the owner, such as `api-key:<id>` or `organisation:<id>`. The count is
    stored as of `refilled_at`, in seconds since the Unix epoch. Readers add the refill for
    the time since then, so idle buckets need no writes.
    """

    __tablename__ = "rate_limit_bucket"

    bucket: str = Field(sa_type=String(64), primary_key=True)
    tokens: float
    refilled_at: float
