"""The `connect-gateway` command line."""

import argparse
import asyncio
import json
import sys
from pathlib import Path

from app.settings import Settings, SettingsError, load_settings


def _ulid_argument(value: str) -> str:
    from resolvers.ids import ULID_HINT, parse_ulid

    canonical = parse_ulid(value)
    if canonical is None:
        raise argparse.ArgumentTypeError(f"--organisation {ULID_HINT}")
    return canonical


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from db.migrate import upgrade

    settings.validate_for_start()
    if not settings.is_production:
        upgrade(settings.resolved_database_url())
    # On SIGTERM uvicorn stops accepting connections and lets in-flight requests finish,
    # for at most timeout_graceful_shutdown seconds.
    uvicorn.run(
        "app.main:app",
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        workers=args.workers,
        timeout_graceful_shutdown=settings.shutdown_timeout_seconds,
    )
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from db.migrate import upgrade

    upgrade(settings.resolved_database_url())
    print("database schema is at the latest revision")
    return 0


def _api_key_create(settings: Settings, args: argparse.Namespace) -> int:
    from db.engine import Database
    from resolvers.api_keys import create_api_key

    async def run() -> str:
        database = Database(settings.resolved_database_url())
        try:
            key_id, key = await create_api_key(database, args.organisation)
        finally:
            await database.dispose()
        print(f"created API key {key_id} for organisation {args.organisation}; it is shown only once:")
        return key

    print(asyncio.run(run()))
    return 0


def _rotate_secrets(settings: Settings, args: argparse.Namespace) -> int:
    from app.logs import configure_logging
    from db.engine import Database
    from resolvers.rotation import RotationReport, rotate_credential_secrets
    from resolvers.secrets import SecretBox

    configure_logging(settings.log_level)
    keys = settings.secret_keys()

    async def run() -> RotationReport:
        database = Database(settings.resolved_database_url())
        try:
            return await rotate_credential_secrets(database, SecretBox(keys), args.batch_size, args.dry_run)
        finally:
            await database.dispose()

    report = asyncio.run(run())
    verb = "would re-encrypt" if args.dry_run else "re-encrypted"
    print(
        f"examined {report.examined} credentials in {report.batches} batches with {len(keys)} configured keys: "
        f"{verb} {report.rotated}, {report.already_current} already under the current key, "
        f"{report.changed} changed by another writer during the run, {report.failed} not decryptable with any configured key"
    )
    if report.changed:
        print("run rotate-secrets again to re-encrypt the credentials that changed during this run")
    if report.failed:
        print(
            "the credentials that could not be decrypted are listed in the log. "
            "Add the key they were encrypted with to CONNECT_GATEWAY_SECRET_KEY, then run rotate-secrets again",
            file=sys.stderr,
        )
        return 1
    return 0


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _load_fixtures(settings: Settings, args: argparse.Namespace) -> int:
    from app.fixtures import load_directory

    failures = asyncio.run(load_directory(settings, args.organisation, Path(args.directory)))
    return 1 if failures else 0


def _register_persisted_queries(settings: Settings, args: argparse.Namespace) -> int:
    from graphql import GraphQLError, parse, validate

    from db.engine import Database
    from resolvers.persisted_queries import save_persisted_query
    from schema.schema import schema

    documents = []
    for name in args.files:
        path = Path(name)
        try:
            text = path.read_text(encoding="utf-8")
            errors = validate(schema._schema, parse(text, max_tokens=settings.max_tokens))
        except (OSError, UnicodeDecodeError) as error:
            print(f"error: cannot read {path}: {error}", file=sys.stderr)
            return 1
        except GraphQLError as error:
            print(f"error: {path} is not a valid GraphQL document: {error.message}", file=sys.stderr)
            return 1
        if errors:
            print(f"error: {path} does not validate against the schema: {errors[0].message}", file=sys.stderr)
            return 1
        documents.append((path, text))

    async def run() -> list[str]:
        database = Database(settings.resolved_database_url())
        try:
            return [await save_persisted_query(database, text) for _, text in documents]
        finally:
            await database.dispose()

    for (path, _), sha256 in zip(documents, asyncio.run(run()), strict=True):
        print(f"{sha256} {path}")
    return 0


def _export_schema(_settings: Settings, _args: argparse.Namespace) -> int:
    from schema.schema import schema

    sys.stdout.write(schema.as_str() + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connect-gateway", description="GraphQL API over the connector model.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server (migrates the database first outside production)")
    serve.add_argument("--host", help="address to bind (default CONNECT_GATEWAY_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default CONNECT_GATEWAY_PORT or 8000)")
    serve.add_argument("--workers", type=int, default=1, help="number of worker processes")
    serve.set_defaults(handler=_serve)

    commands.add_parser("migrate", help="create or upgrade the database schema").set_defaults(handler=_migrate)

    api_key = commands.add_parser("api-key", help="manage API keys").add_subparsers(dest="action", required=True)
    create = api_key.add_parser("create", help="create an API key; prints it once, as the last line")
    create.add_argument("--organisation", required=True, type=_ulid_argument, help="organisation ULID the key acts for")
    create.set_defaults(handler=_api_key_create)

    fixtures = commands.add_parser("load-fixtures", help="create every connector definition (*.json) in a directory")
    fixtures.add_argument("--organisation", required=True, type=_ulid_argument, help="organisation ULID to create them in")
    fixtures.add_argument("directory", help="directory of HTTPConnectorCreateInput JSON files")
    fixtures.set_defaults(handler=_load_fixtures)

    commands.add_parser("export-schema", help="print the GraphQL schema (SDL)").set_defaults(handler=_export_schema)

    persisted = commands.add_parser("persisted-queries", help="manage persisted GraphQL documents").add_subparsers(dest="action", required=True)
    register = persisted.add_parser(
        "register",
        help="store each file's document under the SHA-256 hash of its exact text, for automatic persisted queries "
        "and for CONNECT_GATEWAY_PERSISTED_QUERIES=allowlist; prints each hash",
    )
    register.add_argument("files", nargs="+", metavar="FILE", help="file holding one GraphQL document, in UTF-8")
    register.set_defaults(handler=_register_persisted_queries)

    rotate = commands.add_parser(
        "rotate-secrets",
        help="re-encrypt stored credentials with the first key of CONNECT_GATEWAY_SECRET_KEY; safe while the gateway runs",
    )
    rotate.add_argument("--batch-size", type=_positive_int, default=100, help="credentials per transaction (default 100)")
    rotate.add_argument("--dry-run", action="store_true", help="count the credentials to re-encrypt without writing")
    rotate.set_defaults(handler=_rotate_secrets)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        return args.handler(settings, args)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
