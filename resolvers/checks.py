"""Field-level checks shared by every input that the gateway validates."""

import string
from typing import Any
from urllib.parse import urlsplit

from resolvers.errors import FieldErrors
from resolvers.ids import ULID_HINT, parse_ulid
from resolvers.limits import MAX_SECRET_LENGTH, MAX_URL_LENGTH

# The characters of a token (RFC 9110, section 5.6.2), which header field names and cookie
# names (RFC 6265, section 4.1.1) consist of.
TOKEN_CHARACTERS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")


def node_path(node: dict[str, Any], default: str) -> str:
    """Return the path the client used for this node.

    Adapters record `__path__` where the client's shape differs from the REST shape,
    such as the GraphQL one-of keys (`authSchemeConfigs[0].oauth2`).
    """
    return node.get("__path__", default)


def check_text(
    errors: FieldErrors,
    path: str,
    value: Any,
    max_length: int,
    *,
    required: bool = False,
) -> None:
    """Check a string for type, NUL bytes, length and (when required) emptiness."""
    if value is None:
        if required:
            errors.add(path, "is required.")
        return
    if not isinstance(value, str):
        errors.add(path, "must be a string.")
        return
    if "\x00" in value:
        errors.add(path, "must not contain NUL bytes (U+0000).")
    if len(value) > max_length:
        errors.add(path, f"is {len(value)} characters long; the maximum is {max_length}.")
    if required and not value.strip():
        errors.add(path, "must not be empty.")


def check_secret_text(errors: FieldErrors, path: str, value: Any, *, required: bool) -> None:
    check_text(errors, path, value, MAX_SECRET_LENGTH, required=False)
    if required and value is None:
        errors.add(path, "is required.")


def check_url(errors: FieldErrors, path: str, value: Any, *, allow_empty: bool = False) -> None:
    """Require an absolute http or https URL; template placeholders such as {shop} are allowed."""
    if value is None:
        errors.add(path, "is required.")
        return
    check_text(errors, path, value, MAX_URL_LENGTH)
    if not isinstance(value, str) or "\x00" in value or len(value) > MAX_URL_LENGTH:
        return
    if value == "" and allow_empty:
        return
    if not is_absolute_http_url(value):
        hint = " or empty for the client credentials grant" if allow_empty else ""
        errors.add(path, f"must be an absolute http or https URL{hint}, such as https://api.example.com.")
    elif has_userinfo(value):
        # The message never quotes the URL, because the userinfo may hold a password.
        errors.add(path, "must not contain a user name or password before the host (user:password@); store them in a credential instead.")


def is_absolute_http_url(value: str) -> bool:
    if any(character.isspace() for character in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.netloc.startswith(("@", ":"))


def has_userinfo(value: str) -> bool:
    """Return whether an absolute URL has userinfo (`user@` or `user:password@`) before its host."""
    return "@" in urlsplit(value).netloc


def check_token(errors: FieldErrors, path: str, value: Any, kind: str) -> None:
    """Record a problem when a non-empty string has a character that a token may not contain.

    `kind` names what the token is, such as "HTTP header name". The value is not quoted, so
    a secret pasted into the field by mistake is not echoed.
    """
    if not isinstance(value, str) or not value.strip():
        return
    if not set(value) <= TOKEN_CHARACTERS:
        errors.add(
            path,
            f"is not a valid {kind}: use only ASCII letters, digits and the characters !#$%&'*+-.^_`|~, "
            "without spaces, colons or other separators.",
        )


def check_list(errors: FieldErrors, path: str, value: Any, max_items: int, *, required: bool = False) -> list[Any]:
    """Return the list to iterate over, or an empty one after recording a problem."""
    if value is None:
        if required:
            errors.add(path, "is required.")
        return []
    if not isinstance(value, list):
        errors.add(path, "must be a list.")
        return []
    if len(value) > max_items:
        errors.add(path, f"has {len(value)} items; the maximum is {max_items}.")
        return []
    return value


def check_object(errors: FieldErrors, path: str, value: Any, *, required: bool = True) -> dict[str, Any] | None:
    if value is None:
        if required:
            errors.add(path, "is required.")
        return None
    if not isinstance(value, dict):
        errors.add(path, "must be an object.")
        return None
    return value


def check_choice(errors: FieldErrors, path: str, value: Any, choices: tuple[str, ...]) -> None:
    if value is None:
        errors.add(path, "is required.")
    elif value not in choices:
        errors.add(path, f"must be one of: {', '.join(choices)}.")


def check_bool(errors: FieldErrors, path: str, value: Any) -> None:
    if value is not None and not isinstance(value, bool):
        errors.add(path, "must be true or false.")


def check_ulid(errors: FieldErrors, path: str, value: Any) -> str | None:
    """Return the canonical ULID, recording a problem when `value` is set but invalid."""
    if value is None:
        return None
    canonical = parse_ulid(value)
    if canonical is None:
        errors.add(path, f"{ULID_HINT}.")
    return canonical
