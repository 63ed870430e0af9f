"""The typed per-request context that every API surface builds and the resolvers read."""

from dataclasses import dataclass, field
from typing import Any

from db.engine import Database
from db.loaders import Loaders
from db.snapshot import ReadSnapshot, ReadWork, new_session_reader
from resolvers.secrets import SecretBox


@dataclass(frozen=True)
class Caller:
    """An authenticated caller and the organisations it may act for.

    An API key acts for exactly one organisation; a JWT caller may name several.
    """

    subject: str
    organisation_ids: frozenset[str]

    def may_act_for(self, organisation_id: str) -> bool:
        return organisation_id in self.organisation_ids


@dataclass(frozen=True)
class Services:
    """Process-wide collaborators; they hold no per-tenant state."""

    database: Database
    secret_box: SecretBox


@dataclass
class RequestContext:
    caller: Caller
    services: Services
    request_id: str
    # The read session that the request's reads share. The caller that passes one must close
    # it after the request. Without one, every read opens its own session.
    snapshot: ReadSnapshot | None = None
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.read, self.caller.organisation_ids)

    async def read(self, work: ReadWork[Any]) -> Any:
        """Run read statements in the request's shared snapshot if it has one, else in a new read session."""
        if self.snapshot is not None:
            return await self.snapshot.run(work)
        return await new_session_reader(self.services.database)(work)

    def reset_loaders(self) -> None:
        """Drop everything the loaders cached and the read snapshot, so reads after a mutation see its writes."""
        if self.snapshot is not None:
            self.snapshot.expire()
        self.loaders = Loaders(self.read, self.caller.organisation_ids)
