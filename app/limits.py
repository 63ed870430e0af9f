"""Static limits on a GraphQL operation, checked after parsing and before any resolver runs.

The checks walk the selected operation with every fragment spread and inline fragment
expanded, so a fragment counts each time it is used. A request over a limit gets one
error with the code LIMIT_EXCEEDED that names the limit and the setting that raises it.
"""

from dataclasses import dataclass, replace
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NoSchemaIntrospectionCustomRule,
    OperationType,
    SchemaMetaFieldDef,
    SelectionNode,
    SelectionSetNode,
    TypeMetaFieldDef,
    TypeNameMetaFieldDef,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
    parse,
    validate,
    value_from_ast_untyped,
)

from app.cost import BASE_COST, MUTATION_COST, UNBOUNDED_LIST_SIZE
from app.operations import select_operation
from app.settings import ENV_PREFIX, Settings
from resolvers.pagination import DEFAULT_PAGE_SIZE
from schema.compiled.documents import WeightedLRU

LIMIT_EXCEEDED = "LIMIT_EXCEEDED"
# graphql-core 3.3 starts the message of its token limit with this text.
TOKEN_LIMIT_MESSAGE = "Syntax Error: Document contains more than"
# Field selections the walk visits before it gives up. Without a bound, fragments that
# spread each other twice per level expand exponentially while staying under every other
# limit. No document within the default token limit needs anywhere near this many.
MAX_EXPANDED_SELECTIONS = 50_000
# A list argument whose length bounds the field's list, as in `nodes(ids: [ID!]!)`.
LIST_ARGUMENT = "ids"
# Fields every type has without declaring them, which the walk must still follow.
META_FIELDS: dict[str, GraphQLField] = {
    "__schema": SchemaMetaFieldDef,
    "__type": TypeMetaFieldDef,
    "__typename": TypeNameMetaFieldDef,
}
INTROSPECTION_FIELDS = ("__schema", "__type")


class LimitExceeded(Exception):
    """An operation is over a configured limit; the message names the limit and its setting."""

    def __init__(self, limit: str, message: str) -> None:
        super().__init__(message)
        self.limit = limit
        self.message = message


@dataclass(frozen=True)
class Limits:
    max_depth: int
    max_aliases: int
    max_tokens: int
    max_root_fields: int
    max_page_size: int
    max_nodes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        return cls(
            max_depth=settings.max_query_depth,
            max_aliases=settings.max_aliases,
            max_tokens=settings.max_tokens,
            max_root_fields=settings.max_root_fields,
            max_page_size=settings.max_page_size,
            max_nodes=settings.max_nodes,
        )


@dataclass
class ParsedDocument:
    """A document parsed under the token limit, or the syntax error the parser raised."""

    document: DocumentNode | None
    syntax_error: GraphQLSyntaxError | None
    introspection_errors: list[GraphQLError] | None = None


class DocumentParser:
    """Parse documents under the token limit, keeping recent results in a bounded cache.

    The cache weighs each document by its length in characters, and a document longer than
    the whole budget is not stored.
    """

    def __init__(self, max_tokens: int, max_cached_characters: int) -> None:
        self._max_tokens = max_tokens
        self._max_cached_characters = max_cached_characters
        self.cache: WeightedLRU[ParsedDocument] = WeightedLRU(max_cached_characters)

    def parse(self, text: str) -> ParsedDocument:
        entry = self.cache.get(text)
        if entry is not None:
            return entry
        try:
            entry = ParsedDocument(parse(text, max_tokens=self._max_tokens), None)
        except GraphQLSyntaxError as error:
            entry = ParsedDocument(None, error)
        if len(text) <= self._max_cached_characters:
            self.cache.put(text, entry, len(text))
        return entry


def token_limit_error(parsed: ParsedDocument, limits: Limits) -> LimitExceeded | None:
    error = parsed.syntax_error
    if error is not None and error.message.startswith(TOKEN_LIMIT_MESSAGE):
        return LimitExceeded(
            "tokens", f"The document has more than {limits.max_tokens} tokens, the maximum ({ENV_PREFIX}MAX_TOKENS)."
        )
    return None


def cost_limit_error(cost: int, max_cost: int) -> LimitExceeded | None:
    """Reject an operation that costs more than a full rate-limit bucket contains, which no wait would fix."""
    if cost <= max_cost:
        return None
    return LimitExceeded(
        "cost",
        f"The operation is estimated to cost {cost} tokens, more than the {max_cost} a full rate-limit bucket contains "
        f"({ENV_PREFIX}RATE_LIMIT_KEY_CAPACITY, {ENV_PREFIX}RATE_LIMIT_ORGANISATION_CAPACITY). Each object in the response "
        "costs 1 and lists without a page size are estimated at "
        f"{UNBOUNDED_LIST_SIZE} items; request smaller pages or fewer nested lists.",
    )


def introspection_errors(schema: GraphQLSchema, parsed: ParsedDocument) -> list[GraphQLError]:
    """Return the errors of graphql-core's NoSchemaIntrospectionCustomRule, computed once per document."""
    if parsed.document is None:
        return []
    if parsed.introspection_errors is None:
        parsed.introspection_errors = validate(schema, parsed.document, [NoSchemaIntrospectionCustomRule], hide_suggestions=True)
    return parsed.introspection_errors


@dataclass
class _Totals:
    aliases: int = 0
    root_fields: int = 0
    nodes: int = 0
    selections: int = 0
    # The estimated cost in rate-limit tokens (app.cost), without BASE_COST.
    cost: int = 0
    mutation_fields: int = 0


@dataclass(frozen=True)
class _Scope:
    """The walk's position: the parent's depth, how many parents there may be, and which
    fragments are being expanded.

    `multiplier` multiplies paginated page sizes only (the nodes limit); `objects` counts
    every object of the parent type that the response may hold (the cost estimate).
    `page` is the page size of the paginated field being walked, which its `edges` or
    `nodes` list returns.
    """

    depth: int = 0
    multiplier: int = 1
    objects: int = 1
    page: int | None = None
    spreads: frozenset[str] = frozenset()
    # Inside `__schema` or `__type`, where the depth limit does not apply.
    introspection: bool = False


class _Walk:
    def __init__(
        self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], limits: Limits, variables: dict[str, Any], mutation: bool
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.limits = limits
        self.variables = variables
        self.mutation = mutation
        self.totals = _Totals()

    def selection_set(self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None, scope: _Scope) -> None:
        for selection in selection_set.selections:
            if not self.included(selection):
                continue
            if isinstance(selection, FieldNode):
                self.field(selection, parent, scope)
            elif isinstance(selection, InlineFragmentNode):
                condition = self.schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                self.selection_set(selection.selection_set, condition, scope)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                # An unknown or cyclic spread is left to validation, which reports it.
                if fragment is None or name in scope.spreads:
                    continue
                condition = self.schema.get_type(fragment.type_condition.name.value)
                self.selection_set(fragment.selection_set, condition, replace(scope, spreads=scope.spreads | {name}))

    def included(self, selection: SelectionNode) -> bool:
        """Evaluate @skip and @include; a condition that is neither a literal nor a given variable counts as included."""
        for directive in selection.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            condition = next((argument.value for argument in directive.arguments or () if argument.name.value == "if"), None)
            value: Any = None
            if isinstance(condition, BooleanValueNode):
                value = condition.value
            elif isinstance(condition, VariableNode):
                value = self.variables.get(condition.name.value)
            if isinstance(value, bool) and value == (name == "skip"):
                return False
        return True

    def field(self, node: FieldNode, parent: GraphQLNamedType | None, scope: _Scope) -> None:
        depth = scope.depth + 1
        self.count_field(node, depth, scope.introspection)
        definition = self.definition(node, parent)
        if definition is None:
            return
        if depth == 1 and self.mutation and node.name.value not in META_FIELDS:
            self.totals.mutation_fields += 1
            self.totals.cost += MUTATION_COST

        multiplier, page = scope.multiplier, None
        size = self.list_size(node, definition.args)
        if size is not None:
            multiplier *= size
            self.count_nodes(multiplier)
            # Only a paginated field's page sizes its `edges` and `nodes`; `nodes(ids:)` is the list itself.
            page = size if "first" in definition.args or "last" in definition.args else None
        objects = scope.objects * self.objects_per_parent(definition.type, size, scope.page)
        if node.selection_set is not None:
            self.totals.cost += objects
            introspection = scope.introspection or node.name.value in INTROSPECTION_FIELDS
            child = _Scope(depth, multiplier, objects, page, scope.spreads, introspection)
            self.selection_set(node.selection_set, get_named_type(definition.type), child)

    @staticmethod
    def definition(node: FieldNode, parent: GraphQLNamedType | None) -> GraphQLField | None:
        """Find a field's definition, the introspection fields (`__schema`, `__type`, `__typename`) included."""
        name = node.name.value
        if name in META_FIELDS:
            return META_FIELDS[name]
        if isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            return parent.fields.get(name)
        return None

    def count_field(self, node: FieldNode, depth: int, introspection: bool) -> None:
        limits, totals = self.limits, self.totals
        totals.selections += 1
        if totals.selections > MAX_EXPANDED_SELECTIONS:
            raise LimitExceeded(
                "selections", f"The operation selects more than {MAX_EXPANDED_SELECTIONS} fields once its fragments are expanded."
            )
        # Introspection types nest `ofType` deeper than the depth limit in the query that
        # GraphiQL and other tools send, and their depth is bounded by the schema's own types.
        if depth > limits.max_depth and not introspection:
            raise LimitExceeded("depth", f"The operation is nested more than {limits.max_depth} fields deep, the maximum ({ENV_PREFIX}MAX_QUERY_DEPTH).")
        if node.alias is not None:
            totals.aliases += 1
            if totals.aliases > limits.max_aliases:
                raise LimitExceeded("aliases", f"The operation has more than {limits.max_aliases} aliases, the maximum ({ENV_PREFIX}MAX_ALIASES).")
        if depth == 1:
            totals.root_fields += 1
            if totals.root_fields > limits.max_root_fields:
                raise LimitExceeded(
                    "rootFields", f"The operation selects more than {limits.max_root_fields} root fields, the maximum ({ENV_PREFIX}MAX_ROOT_FIELDS)."
                )

    def count_nodes(self, nodes: int) -> None:
        self.totals.nodes += nodes
        if self.totals.nodes > self.limits.max_nodes:
            raise LimitExceeded(
                "nodes",
                f"The operation may return more than {self.limits.max_nodes} nodes, the maximum ({ENV_PREFIX}MAX_NODES). "
                "The count multiplies the `first` or `last` of nested paginated fields; request smaller pages.",
            )

    @staticmethod
    def objects_per_parent(field_type: GraphQLOutputType, bounded_size: int | None, page: int | None) -> int:
        """Estimate how many values of a field one parent object returns.

        A list sized by its own arguments, such as `nodes(ids:)`, returns that many items. A
        list under a paginated field (its `edges` or `nodes`) returns the page. Other lists
        are estimated at UNBOUNDED_LIST_SIZE.
        """
        if not is_list_type(get_nullable_type(field_type)):
            return 1
        if bounded_size is not None:
            return bounded_size
        return page if page is not None else UNBOUNDED_LIST_SIZE

    def list_size(self, node: FieldNode, arguments: dict[str, Any]) -> int | None:
        """Return the most nodes a field's list can contain, or None when its arguments do not bound it.

        NOTE: lists without `first`, `last` or `ids` (such as a connector's connections)
        count as one node, so the total is a lower bound wherever the walk meets them.
        """
        if "first" in arguments or "last" in arguments:
            return self.page_size(node)
        if LIST_ARGUMENT in arguments:
            for argument in node.arguments or ():
                if argument.name.value != LIST_ARGUMENT:
                    continue
                if isinstance(argument.value, ListValueNode):
                    return len(argument.value.values)
                if isinstance(argument.value, VariableNode):
                    value = self.variables.get(argument.value.name.value)
                    return len(value) if isinstance(value, list) else 1
        return None

    def page_size(self, node: FieldNode) -> int:
        """Return the page size a paginated field requests, rejecting one over the maximum."""
        sizes = {}
        for argument in node.arguments or ():
            name = argument.name.value
            if name not in ("first", "last"):
                continue
            value: Any = None
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value)
            # graphql-core coerces a whole float such as 6.0 to the Int 6, so it counts as one.
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            # Other values (strings, null, lists) fail validation or mean the default.
            if isinstance(value, int) and not isinstance(value, bool):
                sizes[name] = value
        for name, size in sizes.items():
            if size > self.limits.max_page_size:
                raise LimitExceeded(
                    "pageSize",
                    f"`{name}` on field `{node.name.value}` is {size}; the maximum is {self.limits.max_page_size} ({ENV_PREFIX}MAX_PAGE_SIZE).",
                )
        # A negative size is rejected by the resolver; it counts as 0 here.
        requested = sizes.get("first", sizes.get("last", DEFAULT_PAGE_SIZE))
        return max(requested, 0)


@dataclass(frozen=True)
class Estimate:
    """The cost estimate of an operation that passed the limit checks."""

    cost: int
    mutation_fields: int


def check_operation(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None, limits: Limits
) -> Estimate:
    """Raise LimitExceeded when the operation that would run is over a limit; else estimate its cost.

    A document without a runnable operation passes with the base cost, because the
    endpoint rejects it separately (app.operations.operation_selection_error).
    """
    operation = select_operation(document, operation_name)
    if operation is None:
        return Estimate(BASE_COST, 0)
    fragments = {definition.name.value: definition for definition in document.definitions if isinstance(definition, FragmentDefinitionNode)}
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        if definition.default_value is not None:
            values[definition.variable.name.value] = value_from_ast_untyped(definition.default_value)
    values |= variables or {}

    mutation = operation.operation == OperationType.MUTATION
    walk = _Walk(schema, fragments, limits, values, mutation)
    walk.selection_set(operation.selection_set, schema.get_root_type(operation.operation), _Scope())
    return Estimate(BASE_COST + walk.totals.cost, walk.totals.mutation_fields)
