"""Structural validation of a connector definition in the REST (seed) shape.

Every problem is collected with the path the client used, so one response lists them all.
Checks that need the database (referenced credentials) live in the create resolver.
"""

from typing import Any

from resolvers import limits
from resolvers.checks import (
    check_bool,
    check_choice,
    check_list,
    check_ulid,
    check_object,
    check_secret_text,
    check_text,
    check_token,
    check_url,
    node_path,
)
from resolvers.credential_types import SHAPES, accepted_types
from resolvers.errors import FieldErrors

SCHEME_TYPES = ("none", "api-key", "basic-auth", "oauth2", "hmac", "certificate")
GRANT_TYPES = ("authorization_code", "client_credentials", "password")
LOCATIONS = ("query", "header", "cookie")
# Locations whose parameter name must be a token; a query parameter name may be any text.
TOKEN_LOCATIONS = {"header": "HTTP header name", "cookie": "cookie name"}
HMAC_ALGORITHMS = ("sha1", "sha256", "sha512")
DIGEST_INPUTS = ("body", "url")
PURPOSES = ("action", "trigger")
URL_FIELDS_OF_CLIENT = ("authorizeUrl", "tokenUrl")


def validate_connector(spec: dict[str, Any], errors: FieldErrors) -> None:
    validate_connector_fields(spec, "", errors)

    configs = check_list(errors, "authSchemeConfigs", spec.get("authSchemeConfigs"), limits.MAX_AUTH_SCHEME_CONFIGS, required=True)
    for index, config in enumerate(configs):
        validate_auth_scheme_config(config, f"authSchemeConfigs[{index}]", configs, errors)
    _check_unique_config_ids(configs, errors)

    connections = check_list(errors, "connections", spec.get("connections"), limits.MAX_CONNECTIONS, required=True)
    # A repeated id is reported above, and links check against the first config with that id.
    config_by_id: dict[Any, Any] = {}
    for config in configs:
        if isinstance(config, dict):
            config_by_id.setdefault(config.get("id"), config)
    seen_names: dict[str, int] = {}
    for index, connection in enumerate(connections):
        path = f"connections[{index}]"
        validate_connection(connection, path, config_by_id, errors)
        name = connection.get("name") if isinstance(connection, dict) else None
        if isinstance(name, str):
            if name in seen_names:
                errors.add(f"{path}.name", f"repeats the name of connections[{seen_names[name]}]; connection names must be unique within the connector.")
            else:
                seen_names[name] = index


def validate_connector_fields(spec: dict[str, Any], prefix: str, errors: FieldErrors) -> None:
    """Check the connector's own fields; `prefix` is prepended to each path, such as "input."."""
    check_text(errors, f"{prefix}name", spec.get("name"), limits.MAX_NAME_LENGTH, required=True)
    check_url(errors, f"{prefix}baseUrl", spec.get("baseUrl"))
    for key in ("documentationURL", "imageURL"):
        if spec.get(key):
            check_url(errors, f"{prefix}{key}", spec[key])
    check_bool(errors, f"{prefix}public", spec.get("public"))
    validate_tags(spec.get("tags"), errors, f"{prefix}tags")
    validate_variables(spec.get("connectionVariables"), f"{prefix}connectionVariables", errors)


def validate_tags(tags: Any, errors: FieldErrors, path: str = "tags") -> None:
    for index, tag in enumerate(check_list(errors, path, tags, limits.MAX_TAGS)):
        tag_path = f"{path}[{index}]"
        if check_object(errors, tag_path, tag) is None:
            continue
        check_text(errors, f"{tag_path}.key", tag.get("key"), limits.MAX_TAG_LENGTH, required=True)
        values = check_list(errors, f"{tag_path}.values", tag.get("values"), limits.MAX_TAG_VALUES, required=True)
        for value_index, value in enumerate(values):
            check_text(errors, f"{tag_path}.values[{value_index}]", value, limits.MAX_TAG_LENGTH, required=True)


def validate_variables(variables: Any, path: str, errors: FieldErrors) -> None:
    seen: set[str] = set()
    for index, variable in enumerate(check_list(errors, path, variables, limits.MAX_VARIABLES)):
        item_path = f"{path}[{index}]"
        if check_object(errors, item_path, variable) is None:
            continue
        name = variable.get("name")
        check_text(errors, f"{item_path}.name", name, limits.MAX_VARIABLE_NAME_LENGTH, required=True)
        check_text(errors, f"{item_path}.value", variable.get("value"), limits.MAX_VARIABLE_VALUE_LENGTH)
        if variable.get("value") is None:
            errors.add(f"{item_path}.value", "is required.")
        if not isinstance(name, str):
            continue
        if name in seen:
            errors.add(f"{item_path}.name", "repeats an earlier variable name; variable names must be unique.")
        seen.add(name)


def validate_auth_scheme_config(config: Any, default_path: str, configs: list[Any], errors: FieldErrors) -> None:
    if check_object(errors, default_path, config) is None:
        return
    path = node_path(config, default_path)
    scheme_type = config.get("schemeType")
    check_choice(errors, f"{default_path}.schemeType", scheme_type, SCHEME_TYPES)
    check_text(errors, f"{path}.id", config.get("id"), limits.MAX_CONFIG_ID_LENGTH, required=True)
    check_text(errors, f"{path}.description", config.get("description"), limits.MAX_DESCRIPTION_LENGTH)
    if config.get("description") is None:
        errors.add(f"{path}.description", "is required; use an empty string for none.")

    if scheme_type in ("api-key", "hmac"):
        check_text(errors, f"{path}.name", config.get("name"), limits.MAX_NAME_LENGTH, required=True)
        check_choice(errors, f"{path}.in", config.get("in"), LOCATIONS)
        location = config.get("in")
        if isinstance(location, str) and location in TOKEN_LOCATIONS:
            check_token(errors, f"{path}.name", config.get("name"), TOKEN_LOCATIONS[location])
    if scheme_type == "hmac":
        check_choice(errors, f"{path}.algorithm", config.get("algorithm"), HMAC_ALGORITHMS)
        inputs = check_list(errors, f"{path}.digestInputs", config.get("digestInputs"), limits.MAX_DIGEST_INPUTS, required=True)
        for index, item in enumerate(inputs):
            check_choice(errors, f"{path}.digestInputs[{index}]", item, DIGEST_INPUTS)
        if isinstance(inputs, list) and len(set(map(str, inputs))) != len(inputs):
            errors.add(f"{path}.digestInputs", "must not list an input twice.")
    if scheme_type == "oauth2":
        _validate_oauth2(config, path, configs, errors)


def _validate_oauth2(config: dict[str, Any], path: str, configs: list[Any], errors: FieldErrors) -> None:
    grant = check_object(errors, f"{path}.grant", config.get("grant"))
    grant_type = grant.get("grantType") if grant else None
    check_url(errors, f"{path}.authorizeUrl", config.get("authorizeUrl"), allow_empty=grant_type == "client_credentials")
    check_url(errors, f"{path}.tokenUrl", config.get("tokenUrl"))
    for key in ("additionalAuthorizeParams", "additionalTokenParams"):
        check_text(errors, f"{path}.{key}", config.get(key), limits.MAX_DESCRIPTION_LENGTH)
    check_bool(errors, f"{path}.mtlsEnabled", config.get("mtlsEnabled"))
    if config.get("mtlsCredentialId") is not None:
        config["mtlsCredentialId"] = check_ulid(errors, f"{path}.mtlsCredentialId", config["mtlsCredentialId"])

    scope_names = _validate_scopes(config.get("scopes"), f"{path}.scopes", errors)
    defaults = check_list(errors, f"{path}.defaultScopes", config.get("defaultScopes"), limits.MAX_SCOPES, required=True)
    for index, scope in enumerate(defaults):
        check_text(errors, f"{path}.defaultScopes[{index}]", scope, limits.MAX_SCOPE_LENGTH, required=True)
        if isinstance(scope, str) and scope not in scope_names:
            errors.add(f"{path}.defaultScopes[{index}]", f"names the scope {scope!r}, which is not listed in scopes.")

    if config.get("mtlsEnabled") and not config.get("mtlsCredentialId"):
        has_certificate = any(isinstance(other, dict) and other.get("schemeType") == "certificate" for other in configs)
        if not has_certificate:
            errors.add(f"{path}.mtlsEnabled", "is true, but no certificate auth scheme config exists to link; add one or set mtlsCredentialId.")
    if grant:
        _validate_grant(grant, f"{path}.grant", errors)


def _validate_scopes(scopes: Any, path: str, errors: FieldErrors) -> set[str]:
    names: set[str] = set()
    for index, scope in enumerate(check_list(errors, path, scopes, limits.MAX_SCOPES, required=True)):
        item_path = f"{path}[{index}]"
        if check_object(errors, item_path, scope) is None:
            continue
        name = scope.get("name")
        check_text(errors, f"{item_path}.name", name, limits.MAX_SCOPE_LENGTH, required=True)
        check_text(errors, f"{item_path}.description", scope.get("description"), limits.MAX_DESCRIPTION_LENGTH)
        if isinstance(name, str):
            if name in names:
                errors.add(f"{item_path}.name", "repeats an earlier scope name.")
            names.add(name)
    return names


def _validate_grant(grant: dict[str, Any], default_path: str, errors: FieldErrors) -> None:
    path = node_path(grant, default_path)
    grant_type = grant.get("grantType")
    check_choice(errors, f"{default_path}.grantType", grant_type, GRANT_TYPES)
    if grant_type == "client_credentials":
        return
    has_credential = grant.get("credentialId") is not None
    has_organisation = grant.get("organisationId") is not None
    for key in ("credentialId", "organisationId"):
        if grant.get(key) is not None:
            grant[key] = check_ulid(errors, f"{path}.{key}", grant[key])
    if has_credential != has_organisation:
        missing = "organisationId" if has_credential else "credentialId"
        errors.add(f"{path}.{missing}", "is required when the other of credentialId and organisationId is set; give both to reuse a client credential, or neither to create one.")
    check_text(errors, f"{path}.clientId", grant.get("clientId"), limits.MAX_NAME_LENGTH)
    check_secret_text(errors, f"{path}.clientSecret", grant.get("clientSecret"), required=False)
    if not has_credential and not has_organisation and not grant.get("clientId"):
        errors.add(f"{path}.clientId", "is required unless credentialId and organisationId name an existing oauth2-client credential.")


def _check_unique_config_ids(configs: list[Any], errors: FieldErrors) -> None:
    first_index: dict[str, int] = {}
    for index, config in enumerate(configs):
        if not isinstance(config, dict) or not isinstance(config.get("id"), str):
            continue
        config_id = config["id"]
        if config_id in first_index:
            path = node_path(config, f"authSchemeConfigs[{index}]")
            errors.add(f"{path}.id", f"repeats the id {config_id!r} of authSchemeConfigs[{first_index[config_id]}]; ids must be unique within the connector.")
        else:
            first_index[config_id] = index


def validate_connection(connection: Any, path: str, config_by_id: dict[Any, Any], errors: FieldErrors) -> None:
    if check_object(errors, path, connection) is None:
        return
    check_text(errors, f"{path}.name", connection.get("name"), limits.MAX_NAME_LENGTH, required=True)
    validate_variables(connection.get("variables"), f"{path}.variables", errors)
    credentials = check_object(errors, f"{path}.credentials", connection.get("credentials"), required=False)
    if credentials is None:
        return
    for purpose in PURPOSES:
        items = check_list(errors, f"{path}.credentials.{purpose}", credentials.get(purpose), limits.MAX_CREDENTIALS_PER_PURPOSE)
        for index, item in enumerate(items):
            validate_connection_credential(item, f"{path}.credentials.{purpose}[{index}]", config_by_id, errors)


def validate_connection_credential(item: Any, path: str, config_by_id: dict[Any, Any], errors: FieldErrors) -> None:
    if check_object(errors, path, item) is None:
        return
    config_id = item.get("authSchemeConfigId")
    check_text(errors, f"{path}.authSchemeConfigId", config_id, limits.MAX_CONFIG_ID_LENGTH, required=True)
    config = config_by_id.get(config_id) if isinstance(config_id, str) else None
    if isinstance(config_id, str) and config_id and config is None:
        errors.add(f"{path}.authSchemeConfigId", f"names no auth scheme config of this connector; use one of: {', '.join(map(str, config_by_id)) or 'none defined'}.")

    has_id = item.get("credentialId") is not None
    if has_id:
        item["credentialId"] = check_ulid(errors, f"{path}.credentialId", item["credentialId"])
    credential = item.get("credential")
    if has_id == (credential is not None):
        errors.add(path, "must set exactly one of credentialId (an existing credential) and credential (a new one).")
    if credential is None:
        return
    validate_credential(credential, f"{path}.credential", errors)
    credential_type = credential.get("type") if isinstance(credential, dict) else None
    if config is not None and credential_type in SHAPES:
        check_credential_serves(config, credential_type, f"{path}.credential", errors)


def check_credential_serves(config: dict[str, Any], credential_type: str, path: str, errors: FieldErrors) -> None:
    grant = config.get("grant") if isinstance(config.get("grant"), dict) else {}
    accepted = accepted_types(config.get("schemeType", ""), grant.get("grantType"))
    if credential_type not in accepted:
        errors.add(f"{path}.data", f"is a {credential_type} credential, which cannot serve the {config.get('schemeType')} config {config.get('id')!r}; it takes: {', '.join(accepted) or 'nothing'}.")


def validate_credential(credential: Any, path: str, errors: FieldErrors) -> None:
    if check_object(errors, path, credential) is None:
        return
    check_text(errors, f"{path}.name", credential.get("name"), limits.MAX_NAME_LENGTH, required=True)
    credential_type = credential.get("type")
    check_choice(errors, f"{path}.type", credential_type, tuple(SHAPES))
    data = check_object(errors, f"{path}.data", credential.get("data"))
    if data is None or credential_type not in SHAPES:
        return
    validate_credential_data(credential_type, data, node_path(data, f"{path}.data"), errors)


def validate_credential_data(credential_type: str, data: dict[str, Any], path: str, errors: FieldErrors) -> None:
    shape = SHAPES[credential_type]
    for key in shape.required:
        if data.get(key) is None:
            errors.add(f"{path}.{key}", "is required.")
    for key in shape.secret:
        check_secret_text(errors, f"{path}.{key}", data.get(key), required=False)
    for key, value in data.items():
        if key.startswith("__") or key in shape.secret:
            continue
        if key in ("authorizeUrl", "tokenUrl") and credential_type == "oauth2-client":
            check_url(errors, f"{path}.{key}", value, allow_empty=key == "authorizeUrl")
        elif key == "scopes":
            for index, scope in enumerate(check_list(errors, f"{path}.scopes", value, limits.MAX_SCOPES)):
                check_text(errors, f"{path}.scopes[{index}]", scope, limits.MAX_SCOPE_LENGTH, required=True)
        elif key == "mTLSEnabled":
            check_bool(errors, f"{path}.{key}", value)
        elif key in ("certificate", "ca"):
            check_text(errors, f"{path}.{key}", value, limits.MAX_SECRET_LENGTH)
        elif key in shape.public:
            check_text(errors, f"{path}.{key}", value, limits.MAX_DESCRIPTION_LENGTH)
        else:
            errors.add(f"{path}.{key}", f"is not a field of {credential_type} credential data.")
