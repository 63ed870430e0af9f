"""GraphiQL page, served with assets from this server."""

from starlette.requests import Request
from starlette.responses import HTMLResponse


def graphiql_page(request: Request) -> HTMLResponse:
    # TODO: placeholder until the offline asset bundle lands.
    return HTMLResponse("<!doctype html><title>GraphiQL</title><p>GraphiQL assets not installed.</p>")
