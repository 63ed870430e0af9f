"""GraphQL documents shared by several tests."""

CREATE_CONNECTOR = """
mutation Create($organisationId: ULID!, $input: HTTPConnectorCreateInput!) {
  createHTTPConnector(organisationId: $organisationId, input: $input) {
    __typename
    ... on HTTPConnector { id name updatedAt }
    ... on Error { code message details fields { field message } }
  }
}
"""

CONNECTOR_TREE_FIELDS = """
  __typename id organisationId name public documentationURL imageURL protocol createdAt updatedAt
  ... on HTTPConnector { baseUrl }
  tags { key values }
  connectionVariables { name value }
  authSchemeConfigs { ...Config }
  connections {
    id name createdAt updatedAt
    variables { name value }
    connector { id }
    credentials {
      action { ...Link }
      trigger { ...Link }
    }
  }
  versions { id name description isLatest isDefault createdAt updatedAt publishedAt messages { text severity detail } }
"""

TREE_FRAGMENTS = """
fragment Config on AuthSchemeConfig {
  __typename
  ... on AuthSchemeConfigBase { id description schemeType validationMessages { text severity detail } }
  ... on AuthSchemeConfigAPIKey { name in }
  ... on AuthSchemeConfigHMAC { name in algorithm digestInputs }
  ... on AuthSchemeConfigOAuth2 {
    authorizeUrl tokenUrl scopes { name description } defaultScopes additionalAuthorizeParams
    additionalTokenParams mtlsEnabled mtlsCredentialId
    grant {
      __typename
      ... on AuthSchemeConfigOAuth2GrantAuthorizationCode { grantType credentialId organisationId clientId }
      ... on AuthSchemeConfigOAuth2GrantPassword { grantType credentialId organisationId clientId }
      ... on AuthSchemeConfigOAuth2GrantClientCredentials { grantType }
    }
  }
}

fragment Link on ConnectionCredential {
  id
  authSchemeConfig { ... on AuthSchemeConfigBase { id schemeType } }
  credential { ...CredentialFields }
}

fragment CredentialFields on Credential {
  id organisationId type name errors expiresAt
  data {
    __typename
    ... on CredentialDataNone { redactedFields }
    ... on CredentialDataString { redactedFields }
    ... on CredentialDataBinary { redactedFields }
    ... on CredentialDataBasicAuth { redactedFields username }
    ... on CredentialDataOAuth2Client { redactedFields clientId authorizeUrl tokenUrl scopes additionalParams mTLSEnabled mTLSCredentialId }
    ... on CredentialDataOAuth2Token { redactedFields scopes }
    ... on CredentialDataOAuth2Password { redactedFields username }
    ... on CredentialDataCertificate { redactedFields certificate ca }
  }
  usages { connection { id name createdAt updatedAt connector { id organisationId name protocol createdAt updatedAt } } }
}
"""

CONNECTORS_PAGE = (
    """
query Page($organisationId: ULID!, $first: Int, $after: String, $last: Int, $before: String, $filter: ConnectorFilter) {
  connectors(organisationId: $organisationId, first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
    nodes {"""
    + CONNECTOR_TREE_FIELDS
    + """}
  }
}
"""
    + TREE_FRAGMENTS
)

CONNECTOR_BY_ID = (
    """
query One($organisationId: ULID!, $id: ULID!) {
  connector(organisationId: $organisationId, id: $id) {"""
    + CONNECTOR_TREE_FIELDS
    + """}
}
"""
    + TREE_FRAGMENTS
)
