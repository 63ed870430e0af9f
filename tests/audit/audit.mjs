// Run the graphql-http audit suite against a GraphQL endpoint and print the results as JSON.
//
// Usage: node audit.mjs URL
// The API key, if any, comes from the CONNECT_GATEWAY_AUDIT_API_KEY environment variable and is
// sent as a Bearer token with every request the audit makes.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}
const apiKey = process.env.CONNECT_GATEWAY_AUDIT_API_KEY;

function authorizedFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  if (apiKey) {
    headers.set('Authorization', `Bearer ${apiKey}`);
  }
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: authorizedFetch });
const summary = results.map((result) => ({
  id: result.id,
  name: result.name,
  status: result.status,
  reason: result.status === 'ok' ? null : result.reason,
}));
process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
