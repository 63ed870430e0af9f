"""Routes under /_test/ that tests use; create_app mounts them only when
CONNECT_GATEWAY_TEST_HOOKS=true and CONNECT_GATEWAY_ENV is not production."""

import asyncio
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

logger = logging.getLogger("app.test_hooks")

MAX_SLEEP_SECONDS = 30.0


async def sleep_endpoint(request: Request) -> JSONResponse:
    """Respond after `seconds` (at most 30), to hold a request in flight, for example across SIGTERM."""
    try:
        seconds = float(request.query_params.get("seconds", "1"))
    except ValueError:
        return JSONResponse({"error": "seconds must be a number"}, status_code=400)
    seconds = min(max(seconds, 0.0), MAX_SLEEP_SECONDS)
    logger.info("test hook sleeping", extra={"seconds": seconds})
    await asyncio.sleep(seconds)
    return JSONResponse({"slept_seconds": seconds})


def hook_routes() -> list[Route]:
    return [Route("/_test/sleep", sleep_endpoint)]
