"""The typed per-request context that every API surface builds and the resolvers read."""

from dataclasses import dataclass, field

from db.engine import Database
from db.loaders import Loaders
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
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.reset_loaders()

    def reset_loaders(self) -> None:
        """Drop everything the loaders cached, so reads after a mutation see its writes."""
        self.loaders = Loaders(self.services.database.read, self.caller.organisation_ids)
