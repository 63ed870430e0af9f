"""The GraphQL documents of the benchmark scenarios.

The full tree is the one the tests use (tests/documents.py), so the benchmark follows it when it
changes. TREE_20_PAGE is the lighter tree-20 document: three levels (connectors, their
connections, the credentials of those connections) with a few fields each.
"""

from tests.documents import CONNECTOR_BY_ID, CONNECTORS_PAGE

TREE_20_PAGE = """
query Tree20($organisationId: ULID!, $first: Int, $after: String) {
  connectors(organisationId: $organisationId, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      __typename id name protocol createdAt updatedAt
      ... on HTTPConnector { baseUrl }
      authSchemeConfigs { __typename ... on AuthSchemeConfigBase { id schemeType description } }
      versions { id name isLatest publishedAt }
      connections {
        id name
        credentials {
          action { id credential { id name type expiresAt } }
          trigger { id credential { id name type expiresAt } }
        }
      }
    }
  }
}
"""

__all__ = ["CONNECTORS_PAGE", "CONNECTOR_BY_ID", "TREE_20_PAGE"]
