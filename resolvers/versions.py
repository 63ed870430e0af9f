"""Version names and the `latest` and `default` aliases."""

from datetime import datetime

RESERVED_VERSION_NAMES = ("latest", "default")

# (name, published_at, is_default, id) of each version of one connector.
VersionFacts = tuple[str, datetime | None, bool, str]


def resolve_version_name(name: str, versions: list[VersionFacts]) -> str | None:
    """Return the version name that `name` refers to, or None when nothing matches.

    `latest` is the published version with the newest publishedAt; `default` is the
    version marked default, falling back to `latest`.
    """
    if name == "default":
        marked = next((item for item in versions if item[2]), None)
        if marked is not None:
            return marked[0]
        name = "latest"
    if name == "latest":
        published = [item for item in versions if item[1] is not None]
        if not published:
            return None
        return max(published, key=lambda item: (item[1], item[3]))[0]
    return name if any(item[0] == name for item in versions) else None
