"""Loading one connector with everything under it, for responses that return the whole tree."""

import asyncio
from dataclasses import dataclass

from db import models
from db.loaders import CredentialUsageRow, Loaders
from db.snapshot import new_session_reader
from resolvers.context import Caller, Services


@dataclass(frozen=True)
class LoadedConnection:
    connection: models.Connection
    # Ordered by purpose, then by position within the purpose.
    links: list[models.ConnectionCredential]


@dataclass(frozen=True)
class LoadedConnectorTree:
    """A connector's rows: configs, connections with their credential links, versions.

    `credentials` and `usages` are keyed by credential id and cover every credential that a
    link names.
    """

    connector: models.Connector
    configs: list[models.AuthSchemeConfig]
    connections: list[LoadedConnection]
    credentials: dict[str, models.Credential]
    usages: dict[str, list[CredentialUsageRow]]
    versions: list[models.ConnectorVersion]


async def load_connector_tree(services: Services, caller: Caller, connector_id: str) -> LoadedConnectorTree | None:
    """Load a connector's tree in seven queries, whatever its size.

    Returns None when the connector does not exist in an organisation the caller may act
    for. Raises LookupError when a link names a credential that cannot be read, which the
    create path never produces.
    """
    loaders = Loaders(new_session_reader(services.database), caller.organisation_ids)
    connector = await loaders.connector_by_id.load(connector_id)
    if connector is None:
        return None

    configs, connections, versions = await asyncio.gather(
        loaders.auth_scheme_configs_by_connector.load(connector_id),
        loaders.connections_by_connector.load(connector_id),
        loaders.versions_by_connector.load(connector_id),
    )
    links_by_connection = await loaders.connection_credentials_by_connection.load_many([row.id for row in connections])

    credential_ids = list(dict.fromkeys(link.credential_id for links in links_by_connection for link in links))
    credentials, usages = await asyncio.gather(
        loaders.credential_by_id.load_many(credential_ids),
        loaders.usages_by_credential.load_many(credential_ids),
    )
    missing = [credential_id for credential_id, row in zip(credential_ids, credentials, strict=True) if row is None]
    if missing:
        raise LookupError(f"connector {connector_id} links credentials that cannot be read: {', '.join(missing)}")

    return LoadedConnectorTree(
        connector=connector,
        configs=list(configs),
        connections=[LoadedConnection(row, list(links)) for row, links in zip(connections, links_by_connection, strict=True)],
        credentials={row.id: row for row in credentials if row is not None},
        usages=dict(zip(credential_ids, usages, strict=True)),
        versions=list(versions),
    )
