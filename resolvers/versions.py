"""Connector versions: the `latest` and `default` aliases, and the version lifecycle.

A version starts as a draft, may be published (then it is immutable), may become the
connector's default, and is usable by other products (subscribers) only while published.
"""

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import models
from resolvers import limits
from resolvers.checks import check_text
from resolvers.connector_access import config_view, is_unique_violation, load_configs, touch_connector
from resolvers.connectors import require_organisation
from resolvers.context import Caller, Services
from resolvers.errors import DomainError, ErrorCode, FieldError, FieldErrors, not_found
from resolvers.ids import new_id
from resolvers.validation import validate_auth_scheme_config

logger = logging.getLogger(__name__)

RESERVED_VERSION_NAMES = ("latest", "default")

# (name, published_at, is_default, id) of each version of one connector.
VersionFacts = tuple[str, datetime | None, bool, str]


def resolve_version_name(name: str, versions: list[VersionFacts]) -> str | None:
    """Return the version name that `name` refers to, or None when nothing matches.

    `latest` is the published version with the newest publishedAt; `default` is the
    version marked default, falling back to `latest`.
    """
    if name == "default":
        marked = next((item for item in versions if item[2]), None)
        if marked is not None:
            return marked[0]
        name = "latest"
    if name == "latest":
        published = [item for item in versions if item[1] is not None]
        if not published:
            return None
        return max(published, key=lambda item: (item[1], item[3]))[0]
    return name if any(item[0] == name for item in versions) else None


async def find_version(session: AsyncSession, connector_id: str, name: str) -> models.ConnectorVersion:
    """Return the version that `name` (a version name, `latest` or `default`) refers to, or raise NOT_FOUND."""
    table = models.ConnectorVersion
    rows = list((await session.execute(select(table).where(table.connector_id == connector_id))).scalars())
    wanted = resolve_version_name(name, [(row.name, row.published_at, row.is_default, row.id) for row in rows])
    version = next((row for row in rows if row.name == wanted), None)
    if version is None:
        raise not_found("Version", f"{name!r} of connector {connector_id}")
    return version


def _validate_version_fields(spec: dict[str, Any], errors: FieldErrors) -> None:
    check_text(errors, "input.name", spec.get("name"), limits.MAX_NAME_LENGTH, required=True)
    if spec.get("name") in RESERVED_VERSION_NAMES:
        errors.add("input.name", "is reserved: `latest` and `default` are aliases of other versions; choose another name.")
    check_text(errors, "input.description", spec.get("description"), limits.MAX_DESCRIPTION_LENGTH)


def _name_conflict(name: str, connector_id: str, error: IntegrityError) -> DomainError:
    if is_unique_violation(error):
        return DomainError(ErrorCode.ALREADY_EXISTS, f"Connector {connector_id} already has a version named {name!r}; choose another name.")
    return DomainError(ErrorCode.FAILED_PRECONDITION, "The connector or version changed at the same time; retry the request.")


async def _refreshed(session: AsyncSession, version_id: str) -> models.ConnectorVersion:
    table = models.ConnectorVersion
    statement = select(table).where(table.id == version_id).execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one()


async def _version_to_change(
    session: AsyncSession, caller: Caller, organisation_id: str, connector_id: str, name: str, now: datetime
) -> models.ConnectorVersion:
    """Touch the connector, which queues this writer behind others of the same connector, and return the named version."""
    await touch_connector(session, caller, organisation_id, connector_id, now)
    return await find_version(session, connector_id, name)


async def _compare_and_set(session: AsyncSession, conditions: list[Any], values: dict[str, Any], conflict: DomainError) -> None:
    """Update the version rows that match every condition, or raise `conflict` when none still does."""
    table = models.ConnectorVersion
    result = await session.execute(update(table).where(*conditions).values(**values).execution_options(synchronize_session=False))
    if result.rowcount == 0:
        raise conflict


async def create_connector_version(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, spec: dict[str, Any]
) -> models.ConnectorVersion:
    """Create a draft version, empty or copied from `fromVersion`.

    A version's content is its description and messages today; actions, triggers and
    definitions are not stored yet.
    """
    require_organisation(caller, organisation_id)
    errors = FieldErrors()
    _validate_version_fields(spec, errors)
    errors.raise_if_any()

    now = datetime.now(UTC)
    try:
        async with services.database.transaction() as session:
            await touch_connector(session, caller, organisation_id, connector_id, now)
            description, messages = "", []
            if spec.get("fromVersion") is not None:
                try:
                    source = await find_version(session, connector_id, spec["fromVersion"])
                except DomainError as error:
                    error.fields.append(FieldError("input.fromVersion", "names no version of this connector."))
                    raise
                # NOTE: copy actions, triggers and definitions here once versions store them.
                description, messages = source.description, list(source.messages)
            if spec.get("description") is not None:
                description = spec["description"]
            version = models.ConnectorVersion(
                id=new_id(),
                organisation_id=organisation_id,
                connector_id=connector_id,
                name=spec["name"],
                description=description,
                messages=messages,
                created_at=now,
                updated_at=now,
            )
            session.add(version)
            await session.flush()
    except IntegrityError as error:
        raise _name_conflict(spec["name"], connector_id, error) from error
    logger.info("version created", extra={"connector_id": connector_id, "version_id": version.id})
    return version


def _published_is_immutable(version: models.ConnectorVersion) -> DomainError:
    return DomainError(
        ErrorCode.FAILED_PRECONDITION,
        f"Version {version.name!r} is published, and published versions cannot change; "
        "create a new version from it (fromVersion) and edit that.",
    )


async def update_connector_version(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, name: str, spec: dict[str, Any]
) -> models.ConnectorVersion:
    """Replace a draft's name and description; an omitted description becomes empty."""
    require_organisation(caller, organisation_id)
    errors = FieldErrors()
    _validate_version_fields(spec, errors)
    errors.raise_if_any()

    now = datetime.now(UTC)
    table = models.ConnectorVersion
    try:
        async with services.database.transaction() as session:
            version = await _version_to_change(session, caller, organisation_id, connector_id, name, now)
            # The row changes only while it is still a draft.
            await _compare_and_set(
                session,
                [table.id == version.id, table.published_at.is_(None)],
                {"name": spec["name"], "description": spec.get("description") or "", "updated_at": now},
                _published_is_immutable(version),
            )
            version = await _refreshed(session, version.id)
    except IntegrityError as error:
        raise _name_conflict(spec["name"], connector_id, error) from error
    return version


async def _subscriber_lines(session: AsyncSession, version_id: str) -> list[str]:
    table = models.ConnectorVersionSubscriber
    statement = select(table).where(table.version_id == version_id).order_by(table.created_at, table.id)
    return [f"{row.product}: {row.reference}" for row in (await session.execute(statement)).scalars()]


def _has_no_subscribers(version_id: Any) -> Any:
    table = models.ConnectorVersionSubscriber
    return ~exists().where(table.version_id == version_id)


async def delete_connector_version(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, name: str, force: bool
) -> str:
    """Delete a draft; a published version needs `force` and no subscribers."""
    require_organisation(caller, organisation_id)
    table = models.ConnectorVersion
    async with services.database.transaction() as session:
        version = await _version_to_change(session, caller, organisation_id, connector_id, name, datetime.now(UTC))
        if version.published_at is not None and not force:
            raise DomainError(
                ErrorCode.FAILED_PRECONDITION,
                f"Version {version.name!r} is published; unpublish it first, or pass force: true.",
            )
        subscribers = await _subscriber_lines(session, version.id)
        if subscribers:
            raise DomainError(
                ErrorCode.FAILED_PRECONDITION,
                f"Version {version.name!r} has {len(subscribers)} subscriber(s); remove them first, even with force.",
                details="\n".join(subscribers),
            )
        condition = [table.id == version.id, _has_no_subscribers(table.id)]
        if not force:
            condition.append(table.published_at.is_(None))
        result = await session.execute(delete(table).where(*condition).execution_options(synchronize_session=False))
        if result.rowcount == 0:
            raise DomainError(ErrorCode.FAILED_PRECONDITION, f"Version {version.name!r} changed at the same time; it was not deleted.")
    logger.info("version deleted", extra={"connector_id": connector_id, "version_id": version.id, "force": force})
    return version.id


async def _check_publishable(session: AsyncSession, version: models.ConnectorVersion) -> None:
    """Raise FAILED_PRECONDITION when the version or its connector's configs have errors.

    The stored configs are validated again, so rows written before a rule existed cannot
    be published, and error messages on the version or a config block publishing too.
    """
    problems = [f"version: {item['text']}" for item in version.messages if item.get("severity") == "error"]
    configs = await load_configs(session, version.connector_id)
    views = [config_view(config) for config in configs]
    errors = FieldErrors()
    for index, view in enumerate(views):
        validate_auth_scheme_config(view, f"authSchemeConfigs[{index}]", views, errors)
    problems += [f"{item.field} {item.message}" for item in errors.items]
    for config in configs:
        problems += [f"auth scheme config {config.config_id!r}: {item['text']}" for item in config.validation_messages if item.get("severity") == "error"]
    if problems:
        raise DomainError(
            ErrorCode.FAILED_PRECONDITION,
            f"Version {version.name!r} cannot be published while {len(problems)} error message(s) remain; see `details`.",
            details="\n".join(problems),
        )


async def publish_connector_version(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, name: str
) -> models.ConnectorVersion:
    """Validate a draft and publish it; a published version is immutable."""
    require_organisation(caller, organisation_id)
    now = datetime.now(UTC)
    table = models.ConnectorVersion
    async with services.database.transaction() as session:
        version = await _version_to_change(session, caller, organisation_id, connector_id, name, now)
        already_published = DomainError(ErrorCode.FAILED_PRECONDITION, f"Version {version.name!r} is already published.")
        if version.published_at is not None:
            raise already_published
        await _check_publishable(session, version)
        await _compare_and_set(
            session, [table.id == version.id, table.published_at.is_(None)], {"published_at": now, "updated_at": now}, already_published
        )
        version = await _refreshed(session, version.id)
    logger.info("version published", extra={"connector_id": connector_id, "version_id": version.id})
    return version


async def unpublish_connector_version(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, name: str
) -> models.ConnectorVersion:
    """Turn a published version back into a draft; raise FAILED_PRECONDITION while it has subscribers.

    An unpublished version also stops being the default, because only a published version can be.
    """
    require_organisation(caller, organisation_id)
    now = datetime.now(UTC)
    table = models.ConnectorVersion
    async with services.database.transaction() as session:
        version = await _version_to_change(session, caller, organisation_id, connector_id, name, now)
        if version.published_at is None:
            raise DomainError(ErrorCode.FAILED_PRECONDITION, f"Version {version.name!r} is a draft, so there is nothing to unpublish.")
        subscribers = await _subscriber_lines(session, version.id)
        if subscribers:
            raise DomainError(
                ErrorCode.FAILED_PRECONDITION,
                f"Version {version.name!r} has {len(subscribers)} subscriber(s); remove them before unpublishing.",
                details="\n".join(subscribers),
            )
        await _compare_and_set(
            session,
            [table.id == version.id, table.published_at.is_not(None), _has_no_subscribers(table.id)],
            {"published_at": None, "is_default": False, "updated_at": now},
            DomainError(ErrorCode.FAILED_PRECONDITION, f"Version {version.name!r} changed at the same time; it was not unpublished."),
        )
        version = await _refreshed(session, version.id)
    logger.info("version unpublished", extra={"connector_id": connector_id, "version_id": version.id})
    return version


async def set_default_connector_version(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, name: str
) -> models.ConnectorVersion:
    """Make a published version the connector's default, unmarking the previous one in the same transaction."""
    require_organisation(caller, organisation_id)
    now = datetime.now(UTC)
    table = models.ConnectorVersion
    try:
        async with services.database.transaction() as session:
            version = await _version_to_change(session, caller, organisation_id, connector_id, name, now)
            if version.published_at is None:
                raise DomainError(ErrorCode.FAILED_PRECONDITION, f"Version {version.name!r} is a draft; publish it before making it the default.")
            await session.execute(
                update(table)
                .where(table.connector_id == connector_id, table.is_default.is_(True), table.id != version.id)
                .values(is_default=False, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            await _compare_and_set(
                session,
                [table.id == version.id, table.published_at.is_not(None)],
                {"is_default": True, "updated_at": now},
                DomainError(ErrorCode.FAILED_PRECONDITION, f"Version {version.name!r} changed at the same time; it is not the default."),
            )
            version = await _refreshed(session, version.id)
    except IntegrityError as error:
        # The partial unique index allows one default per connector.
        raise DomainError(ErrorCode.FAILED_PRECONDITION, "Another version was made the default at the same time; retry the request.") from error
    logger.info("default version set", extra={"connector_id": connector_id, "version_id": version.id})
    return version
