"""Loading connector definitions from JSON files through the createHTTPConnector mutation."""

import json
import logging
from pathlib import Path

from app.main import build_state
from app.settings import Settings
from resolvers.context import Caller, RequestContext
from resolvers.ids import new_id

logger = logging.getLogger(__name__)

CREATE_MUTATION = """
mutation Load($organisationId: ULID!, $input: HTTPConnectorCreateInput!) {
  createHTTPConnector(organisationId: $organisationId, input: $input) {
    __typename
    ... on HTTPConnector { id name }
    ... on Error { code message fields { field message } }
  }
}
"""


async def load_directory(settings: Settings, organisation_id: str, directory: Path) -> int:
    """Create every *.json definition in `directory`; print one line each and return the failure count."""
    state = build_state(settings)
    caller = Caller(subject="cli:load-fixtures", organisation_ids=frozenset({organisation_id}))
    failures = 0
    try:
        for path in sorted(directory.glob("*.json")):
            context = RequestContext(caller=caller, services=state.services, request_id=new_id())
            variables = {"organisationId": organisation_id, "input": json.loads(path.read_text())}
            result = await state.schema.execute(CREATE_MUTATION, variable_values=variables, context_value=context)
            outcome = (result.data or {}).get("createHTTPConnector") or {}
            if outcome.get("__typename") == "HTTPConnector":
                print(f"created {outcome['id']} {outcome['name']} from {path.name}")
                continue
            failures += 1
            problems = outcome.get("fields") or [{"field": "", "message": error.message} for error in result.errors or []]
            print(f"failed {path.name}: {outcome.get('message', 'GraphQL error')} {problems}")
    finally:
        await state.services.database.dispose()
    return failures
