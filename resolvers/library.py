"""The public connector library: listing public connectors and importing one of their versions."""

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select

from db import models
from db.snapshot import ReadRunner, new_session_reader
from resolvers.connector_access import load_configs
from resolvers.connectors import require_organisation, tag_rows
from resolvers.context import Caller, Services
from resolvers.errors import DomainError, ErrorCode, not_found
from resolvers.ids import new_id
from resolvers.pagination import Page, PageRequest, paginate, scope_of
from resolvers.reads import ConnectorFilter, connector_filter_conditions
from resolvers.validation import SCHEME_TYPES
from resolvers.versions import find_version

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProtocolSupport:
    protocol: str
    name: str
    description: str
    auth_scheme_types: tuple[str, ...]


# Only HTTP connectors can be created through this gateway so far.
PROTOCOLS = (
    ProtocolSupport("http", "HTTP", "REST and other HTTP APIs, called relative to the connector's baseUrl.", SCHEME_TYPES),
)


async def list_public_connectors(
    services: Services, request: PageRequest, filters: ConnectorFilter, read: ReadRunner | None = None
) -> Page:
    """Return a page of public connectors of every organisation; the `public` filter is ignored.

    `read` runs the statements, such as in a request's shared snapshot. By default they run in
    a new read session.
    """
    filters = replace(filters, public=None)
    conditions = [models.Connector.public.is_(True), *connector_filter_conditions(filters)]
    scope = scope_of("public-connectors", "", filters.__dict__)
    return await paginate(read or new_session_reader(services.database), models.Connector, conditions, request, scope)


async def import_public_connector_version(
    services: Services, caller: Caller, organisation_id: str, connector_id: str, name: str
) -> models.Connector:
    """Copy a public connector and one of its published versions into the organisation as a new connector.

    The copy is private and has no connections; its one version is a draft with the source
    version's name and content. OAuth 2.0 grants keep naming the source organisation's client
    credential, which the grant's organisationId records.
    """
    require_organisation(caller, organisation_id)
    now = datetime.now(UTC)
    async with services.database.transaction() as session:
        source = await session.get(models.Connector, connector_id)
        if source is None or not source.public:
            raise not_found("Public connector", connector_id)
        version = await find_version(session, connector_id, name)
        if version.published_at is None:
            raise DomainError(ErrorCode.FAILED_PRECONDITION, f"Version {version.name!r} is a draft; only published versions can be imported.")

        copy = models.Connector(
            id=new_id(),
            organisation_id=organisation_id,
            name=source.name,
            name_folded=source.name_folded,
            protocol=source.protocol,
            base_url=source.base_url,
            public=False,
            documentation_url=source.documentation_url,
            image_url=source.image_url,
            tags=list(source.tags),
            connection_variables=list(source.connection_variables),
            created_at=now,
            updated_at=now,
        )
        session.add(copy)
        await session.flush()
        session.add_all(tag_rows(copy))
        # NOTE: an mtlsCredentialId keeps naming the source organisation's certificate
        # credential, which this organisation cannot read; replace it with upsertAuthSchemeConfig.
        for config in await load_configs(session, connector_id):
            session.add(
                models.AuthSchemeConfig(
                    connector_id=copy.id,
                    config_id=config.config_id,
                    position=config.position,
                    scheme_type=config.scheme_type,
                    description=config.description,
                    settings=dict(config.settings),
                    validation_messages=list(config.validation_messages),
                )
            )
        category = models.ConnectorCategory
        for row in (await session.execute(select(category).where(category.connector_id == connector_id))).scalars():
            session.add(models.ConnectorCategory(connector_id=copy.id, category=row.category, position=row.position))
        session.add(
            models.ConnectorVersion(
                id=new_id(),
                organisation_id=organisation_id,
                connector_id=copy.id,
                name=version.name,
                description=version.description,
                messages=list(version.messages),
                created_at=now,
                updated_at=now,
            )
        )
    logger.info("public connector imported", extra={"organisation_id": organisation_id, "source_id": connector_id, "connector_id": copy.id})
    return copy
