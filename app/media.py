"""Media type parameters shared by the GraphQL endpoint and the REST façade."""


def declares_utf8(parameters: str) -> bool:
    """Return whether a Content-Type's parameters declare UTF-8 or no charset at all.

    JSON exchanged between systems is UTF-8 (RFC 8259, section 8.1), so the endpoints
    read every body as UTF-8 and reject one declared in another charset.
    """
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True
