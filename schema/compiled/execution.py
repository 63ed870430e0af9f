"""Run supported queries from compiled plans, and leave every other request to Strawberry."""

import dataclasses
import logging
import threading
import weakref
from collections import Counter
from collections.abc import AsyncIterator
from contextvars import ContextVar
from dataclasses import dataclass

import strawberry
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLObjectType,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_operation_ast,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.collect_fields import FragmentDetails
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.base import StrawberryObjectDefinition

from resolvers.context import RequestContext
from schema.compiled.documents import CachedDocument, document_cache
from schema.compiled.levels import Run, run_plan
from schema.compiled.plans import Plan, SchemaTables, UnsupportedSelection, compile_plan
from schema.compiled.supported import incompatibility, supported_resolvers

logger = logging.getLogger(__name__)

# Whether the current request may use the compiled path. The GraphQL HTTP endpoint sets it
# from its settings before executing; every other caller of the schema keeps graphql-core.
compiled_execution: ContextVar[bool] = ContextVar("compiled_execution", default=False)

# Requests by outcome: "compiled" when a plan built the response, otherwise the reason the
# request went to graphql-core. Tests read it to check that the compiled path ran.
counters: Counter[str] = Counter()

# Plans larger than this go to graphql-core; see compile_plan. The full connector-tree
# page (CONNECTORS_PAGE in tests/documents.py) compiles to 259 fields.
MAX_PLAN_FIELDS = 2_000

_UNSUPPORTED = object()
_MISSING = object()


@dataclass(frozen=True)
class CompiledOperation:
    """A query operation of a cached document, and the variables its @skip/@include conditions read."""

    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]
    condition_variables: tuple[str, ...]


class CompiledSchema:
    """The compiled path for one Strawberry schema."""

    def __init__(self, schema: strawberry.Schema) -> None:
        self._schema = schema
        self._tables = SchemaTables(schema._schema, supported_resolvers(), _object_classes(schema))
        self._documents = document_cache(schema)

    async def execute(self, execution: ExecutionContext) -> GraphQLExecutionResult | None:
        """Execute the parsed and validated operation of `execution`, or return None to leave it to graphql-core."""
        context = execution.context
        try:
            entry = self._document(execution)
            operation = self._operation(entry, execution.operation_name) if entry is not None else None
            if operation is None:
                counters["unsupported"] += 1
                return None
            variable_values = get_variable_values(
                self._tables.schema, operation.operation.variable_definitions or (), execution.variables or {}
            )
            if isinstance(variable_values, list):
                counters["invalid_variables"] += 1
                return None
            plan = self._plan(entry, operation, variable_values)
            if plan is None:
                counters["unsupported"] += 1
                return None
            # A fresh context gives the plan its own DataLoaders, so graphql-core starts
            # clean if the plan fails part-way.
            run = Run(self._schema, dataclasses.replace(context), variable_values)
            data = await run_plan(plan, execution.root_value, run)
        except Exception:  # noqa: BLE001 - any failure hands the request to graphql-core
            counters["failed"] += 1
            logger.debug(
                "compiled execution failed; graphql-core executes the request",
                exc_info=True,
                extra={"request_id": getattr(context, "request_id", None), "operation_name": execution.operation_name},
            )
            return None
        counters["compiled"] += 1
        return GraphQLExecutionResult(data=data, errors=None)

    def _plan(self, entry: CachedDocument, operation: CompiledOperation, variable_values: VariableValues) -> Plan | None:
        """Return the plan for these @skip/@include values, or None when the selection is unsupported."""
        conditions = tuple(variable_values.coerced.get(name, _MISSING) for name in operation.condition_variables)
        key = (entry.text, operation.operation.name.value if operation.operation.name else None, conditions)
        plan = self._documents.plans.get(key)
        if plan is None:
            try:
                compiled = compile_plan(self._tables, operation.operation, operation.fragments, variable_values, MAX_PLAN_FIELDS)
            except UnsupportedSelection as error:
                logger.debug("query is not supported by the compiled path", extra={"reason": str(error)})
                plan = self._documents.plans.put(key, _UNSUPPORTED, 1)
            else:
                plan = self._documents.plans.put(key, compiled, compiled.fields)
        return None if plan is _UNSUPPORTED else plan

    def _document(self, execution: ExecutionContext) -> CachedDocument | None:
        if not execution.query or not isinstance(execution.context, RequestContext):
            return None
        entry = self._documents.get(execution.query)
        # Only a document that came from this cache (so parsed without extra parse
        # options) and that has no errors under the default rules is compiled.
        if entry is None or entry.document is not execution.graphql_document or entry.validation_errors:
            return None
        return entry

    @staticmethod
    def _operation(entry: CachedDocument, operation_name: str | None) -> CompiledOperation | None:
        # `operation_name` is the name Strawberry hands graphql-core: the requested one, else
        # the first operation's. Strawberry rejects a name the document does not define
        # before execution, so the entry keeps at most one item per operation.
        operation = entry.operations.get(operation_name, _MISSING)
        if operation is _MISSING:
            operation = _prepare_operation(entry.document, operation_name)
            entry.operations[operation_name] = operation
        return operation


def _prepare_operation(document: DocumentNode, operation_name: str | None) -> CompiledOperation | None:
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return None
    fragments = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            if definition.variable_definitions:
                return None
            fragments[definition.name.value] = FragmentDetails(definition)
    selection_sets = [operation.selection_set, *(fragment.definition.selection_set for fragment in fragments.values())]
    return CompiledOperation(operation, fragments, tuple(sorted(_condition_variables(selection_sets))))


def _condition_variables(selection_sets: list[SelectionSetNode]) -> set[str]:
    """Return the variables that @skip or @include conditions read anywhere in these selections."""
    names: set[str] = set()
    pending = list(selection_sets)
    while pending:
        selection_set = pending.pop()
        for selection in selection_set.selections:
            for directive in selection.directives or ():
                if directive.name.value in ("skip", "include"):
                    names |= {argument.value.name.value for argument in directive.arguments if isinstance(argument.value, VariableNode)}
            if getattr(selection, "selection_set", None) is not None:
                pending.append(selection.selection_set)
    return names


def _object_classes(schema: strawberry.Schema) -> dict[str, type]:
    """Map each object type name to its Python class, leaving out classes behind several types."""
    classes: dict[str, type] = {}
    for name, concrete in schema.schema_converter.type_map.items():
        definition = concrete.definition
        if (
            isinstance(definition, StrawberryObjectDefinition)
            and isinstance(concrete.implementation, GraphQLObjectType)
            and not definition.is_interface
            and not definition.is_graphql_generic
            and definition.name == name
        ):
            classes[name] = definition.origin
    shared = {cls for cls, count in Counter(classes.values()).items() if count > 1}
    return {name: cls for name, cls in classes.items() if cls not in shared}


_compiled: "weakref.WeakKeyDictionary[strawberry.Schema, CompiledSchema]" = weakref.WeakKeyDictionary()
_compiled_lock = threading.Lock()
_logged_incompatibilities: set[str] = set()


def _compiled_schema(schema: strawberry.Schema) -> CompiledSchema | None:
    # Extensions can be added after the schema is built, so this is checked per request.
    reason = incompatibility(schema)
    if reason is not None:
        if reason not in _logged_incompatibilities:
            _logged_incompatibilities.add(reason)
            logger.info("compiled execution is off for this schema", extra={"reason": reason})
        return None
    compiled = _compiled.get(schema)
    if compiled is None:
        with _compiled_lock:
            compiled = _compiled.setdefault(schema, CompiledSchema(schema))
    return compiled


class CompiledExecutionExtension(SchemaExtension):
    """Execute supported queries with a compiled plan in place of graphql-core's executor.

    Strawberry (0.341, `Schema._execute_operation`) skips graphql-core when an on_execute
    hook has set `execution_context.result`. Parsing, validation, the operation type check
    and every other extension's hooks therefore run as usual, and a request the plan cannot
    serve simply continues to graphql-core.

    NOTE: The hook is async, so a schema with this extension cannot run `execute_sync`.
    """

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        if compiled_execution.get() and execution.result is None:
            compiled = _compiled_schema(execution.schema)
            if compiled is None:
                counters["unsupported"] += 1
            else:
                result = await compiled.execute(execution)
                if result is not None:
                    execution.result = result
        yield
