"""Subscribers of a published version: the products that use it, such as live integrations."""

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from db import models
from resolvers import limits
from resolvers.checks import check_text
from resolvers.connector_access import is_unique_violation, touch_connector
from resolvers.connectors import require_organisation
from resolvers.context import Caller, Services
from resolvers.errors import DomainError, ErrorCode, FieldErrors, not_found
from resolvers.ids import new_id
from resolvers.versions import find_version

logger = logging.getLogger(__name__)

MAX_REFERENCE_LENGTH = 1024


def _validate_subscriber(subscriber: dict[str, Any]) -> None:
    errors = FieldErrors()
    check_text(errors, "subscriber.product", subscriber.get("product"), limits.MAX_NAME_LENGTH, required=True)
    check_text(errors, "subscriber.reference", subscriber.get("reference"), MAX_REFERENCE_LENGTH, required=True)
    errors.raise_if_any()


async def add_connector_subscriber(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, name: str, subscriber: dict[str, Any]
) -> models.ConnectorVersion:
    """Record that a product uses a published version; raise FAILED_PRECONDITION for a draft."""
    require_organisation(caller, organisation_id)
    _validate_subscriber(subscriber)
    try:
        async with services.database.transaction() as session:
            now = datetime.now(UTC)
            await touch_connector(session, caller, organisation_id, connector_id, now)
            version = await find_version(session, connector_id, name)
            if version.published_at is None:
                raise DomainError(ErrorCode.FAILED_PRECONDITION, f"Version {version.name!r} is a draft; only published versions can have subscribers.")
            session.add(
                models.ConnectorVersionSubscriber(
                    id=new_id(),
                    organisation_id=organisation_id,
                    connector_id=connector_id,
                    version_id=version.id,
                    product=subscriber["product"],
                    reference=subscriber["reference"],
                    created_at=now,
                )
            )
            await session.flush()
    except IntegrityError as error:
        if is_unique_violation(error):
            raise DomainError(ErrorCode.ALREADY_EXISTS, "This product and reference already subscribe to the version.") from error
        raise DomainError(ErrorCode.FAILED_PRECONDITION, "The version was deleted at the same time; the subscriber was not added.") from error
    logger.info("subscriber added", extra={"connector_id": connector_id, "version_id": version.id, "product": subscriber["product"]})
    return version


async def remove_connector_subscriber(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, name: str, subscriber: dict[str, Any]
) -> models.ConnectorVersion:
    """Remove one subscriber of a version, found by product and reference."""
    require_organisation(caller, organisation_id)
    _validate_subscriber(subscriber)
    table = models.ConnectorVersionSubscriber
    async with services.database.transaction() as session:
        await touch_connector(session, caller, organisation_id, connector_id, datetime.now(UTC))
        version = await find_version(session, connector_id, name)
        result = await session.execute(
            delete(table)
            .where(table.version_id == version.id, table.product == subscriber["product"], table.reference == subscriber["reference"])
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 0:
            raise not_found("Subscriber", f"{subscriber['product']}: {subscriber['reference']} of version {version.name!r}")
    logger.info("subscriber removed", extra={"connector_id": connector_id, "version_id": version.id, "product": subscriber["product"]})
    return version
