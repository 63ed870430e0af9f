"""Relay connection types for connector and credential pages."""

import strawberry

from resolvers.pagination import Page, TotalCount
from schema.types.common import PageInfo
from schema.types.connectors import Connector, connector_of
from schema.types.credentials import Credential


@strawberry.type
class ConnectorEdge:
    cursor: str
    node: Connector


async def _total(count: TotalCount | None) -> int:
    return 0 if count is None else await count.get()


@strawberry.type
class ConnectorConnection:
    edges: list[ConnectorEdge]
    nodes: list[Connector]
    page_info: PageInfo
    # None for an organisation out of the caller's reach, whose list is empty.
    count: strawberry.Private[TotalCount | None]

    @strawberry.field
    async def total_count(self) -> int:
        return await _total(self.count)


@strawberry.type
class CredentialEdge:
    cursor: str
    node: Credential


@strawberry.type
class CredentialConnection:
    edges: list[CredentialEdge]
    nodes: list[Credential]
    page_info: PageInfo
    # None for an organisation out of the caller's reach, whose list is empty.
    count: strawberry.Private[TotalCount | None]

    @strawberry.field
    async def total_count(self) -> int:
        return await _total(self.count)


def _page_info(page: Page | None) -> PageInfo:
    if page is None or not page.rows:
        return PageInfo(
            has_next_page=bool(page and page.has_next_page),
            has_previous_page=bool(page and page.has_previous_page),
            start_cursor=None,
            end_cursor=None,
        )
    return PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.cursors[0],
        end_cursor=page.cursors[-1],
    )


def connector_page(page: Page | None) -> ConnectorConnection:
    nodes = [connector_of(row) for row in page.rows] if page else []
    edges = [ConnectorEdge(cursor=cursor, node=node) for cursor, node in zip(page.cursors, nodes, strict=True)] if page else []
    return ConnectorConnection(edges=edges, nodes=nodes, page_info=_page_info(page), count=page.total_count if page else None)


def credential_page(page: Page | None) -> CredentialConnection:
    nodes = [Credential.from_row(row) for row in page.rows] if page else []
    edges = [CredentialEdge(cursor=cursor, node=node) for cursor, node in zip(page.cursors, nodes, strict=True)] if page else []
    return CredentialConnection(edges=edges, nodes=nodes, page_info=_page_info(page), count=page.total_count if page else None)
