"""Compile an operation's selection into functions that build its `data` as plain dicts.

A plan covers one operation with one set of @skip/@include values. Fields are collected with
graphql-core's own `collect_fields` and `collect_subfields`, so aliases, fragments, inline
fragments, merged response keys and key order match graphql-core's executor. Each object type
in the selection gets a builder that reads the Strawberry objects that resolvers return with
`getattr`, as Strawberry's default resolver does. A field with a resolver is deferred: once a
level of objects is built, its resolver runs for every parent of that level together, so the
DataLoaders load the level with one statement.

Compiling raises UnsupportedSelection for anything a plan cannot reproduce. Building raises
CompletionError for a value that graphql-core would turn into a field error. Either way, the
request goes to graphql-core.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Protocol

from graphql import (
    FieldNode,
    GraphQLAbstractType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    is_abstract_type,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetails, FragmentDetails, collect_fields, collect_subfields
from graphql.execution.values import VariableValues
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE
from strawberry.types.field import StrawberryField

from schema.compiled.leaves import CompletionError, checked_coercion, enum_names, passthrough_type


class UnsupportedSelection(Exception):
    """The operation needs a feature that only graphql-core's executor implements."""


class Run(Protocol):
    """The per-request state that builders hand deferred resolver fields to."""

    def defer(self, resolver_field: "ResolverField", source: Any, target: dict[str, Any]) -> None: ...


Completer = Callable[[Any, Run], Any]
Step = Callable[[Any, dict[str, Any], Run], None]
Builder = Callable[[Any, Run], dict[str, Any]]


@dataclass(eq=False)
class ResolverField:
    """A field whose value comes from its Strawberry resolver, called once per parent object."""

    key: str
    field_def: GraphQLField
    field: StrawberryField
    node: FieldNode
    complete: Completer = field(repr=False)


@dataclass(frozen=True)
class SchemaTables:
    """The facts about one schema that plans read, computed once per schema."""

    schema: GraphQLSchema
    supported_resolvers: frozenset[Callable[..., Any]]
    # The Python class of each object type, by GraphQL name, for classes that back one type only.
    classes: dict[str, type]


@dataclass(frozen=True)
class Plan:
    """The compiled selection of one operation: a builder for the root value."""

    build_root: Builder
    # Fields in the plan after expanding fragments and abstract types, a measure of its size.
    fields: int


def compile_plan(
    tables: SchemaTables,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDetails],
    variable_values: VariableValues,
    max_fields: int,
) -> Plan:
    """Compile a query operation for the @skip/@include values in `variable_values`.

    A plan expands every fragment spread and every possible type of an abstract field, so a
    small document can ask for a very large plan. One of more than `max_fields` fields
    raises UnsupportedSelection; graphql-core then does only the work the data requires.
    """
    return _Compiler(tables, operation, fragments, variable_values, max_fields).compile()


class _Compiler:
    def __init__(
        self,
        tables: SchemaTables,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDetails],
        variable_values: VariableValues,
        max_fields: int,
    ) -> None:
        self._tables = tables
        self._schema = tables.schema
        self._operation = operation
        self._fragments = fragments
        self._variable_values = variable_values
        self._max_fields = max_fields
        self._fields = 0

    def compile(self) -> Plan:
        root_type = self._schema.query_type
        if root_type is None:
            raise UnsupportedSelection("the schema has no query type")
        collected = collect_fields(self._schema, self._fragments, self._variable_values, root_type, self._operation)
        if collected.new_defer_usages:
            raise UnsupportedSelection("@defer")
        build_root = self._builder(root_type, collected.grouped_field_set)
        return Plan(build_root, self._fields)

    def _builder(self, object_type: GraphQLObjectType, grouped_fields: dict[str, list[FieldDetails]]) -> Builder:
        steps = _group_leaves([self._step(object_type, key, details) for key, details in grouped_fields.items()])

        def build(source: Any, run: Run) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for step in steps:
                step(source, out, run)
            return out

        return build

    def _subfields_builder(self, object_type: GraphQLObjectType, details: list[FieldDetails]) -> Builder:
        collected = collect_subfields(
            self._schema, self._fragments, self._variable_values, self._operation, object_type, details
        )
        if collected.new_defer_usages:
            raise UnsupportedSelection("@defer")
        return self._builder(object_type, collected.grouped_field_set)

    def _step(self, object_type: GraphQLObjectType, key: str, details: list[FieldDetails]) -> "Step | Leaf":
        self._fields += 1
        if self._fields > self._max_fields:
            raise UnsupportedSelection(f"the plan would have more than {self._max_fields} fields")
        if any(item.defer_usage is not None or item.fragment_variable_values is not None for item in details):
            raise UnsupportedSelection("@defer or fragment variables")
        # As in graphql-core, the first node of a merged field supplies its name and arguments.
        node = details[0].node
        name = node.name.value
        if name == "__typename":
            return _constant_step(key, object_type.name)
        field_def = object_type.fields.get(name)
        if field_def is None:
            raise UnsupportedSelection(f"{object_type.name}.{name}")
        strawberry_field = field_def.extensions.get(GraphQLCoreConverter.DEFINITION_BACKREF)
        if type(strawberry_field) is not StrawberryField or strawberry_field.extensions:
            raise UnsupportedSelection(f"{object_type.name}.{name} is not a plain Strawberry field")

        resolver = strawberry_field.base_resolver
        if resolver is None:
            return self._attribute_step(key, strawberry_field.python_name, field_def.type, details)
        if resolver.wrapped_func not in self._tables.supported_resolvers:
            raise UnsupportedSelection(f"{object_type.name}.{name} has a resolver the compiled path does not call")
        resolver_field = ResolverField(key, field_def, strawberry_field, node, self._completer(field_def.type, details))
        return _deferred_step(resolver_field)

    def _attribute_step(self, key: str, attribute: str, type_: GraphQLOutputType, details: list[FieldDetails]) -> "Step | Leaf":
        nullable = not isinstance(type_, GraphQLNonNull)
        named = type_ if nullable else type_.of_type
        if is_leaf_type(named):
            names = enum_names(named)
            if names is not None:
                return Leaf(key, attribute, named.wrapped_cls, names, checked_coercion(named), nullable)
            return Leaf(key, attribute, passthrough_type(named), None, checked_coercion(named), nullable)
        complete = self._completer(type_, details)

        def step(source: Any, out: dict[str, Any], run: Run) -> None:
            out[key] = complete(getattr(source, attribute), run)

        return step

    def _completer(self, type_: GraphQLOutputType, details: list[FieldDetails]) -> Completer:
        """Return a function that completes a resolved value of `type_`, as graphql-core's complete_value does."""
        nullable = not isinstance(type_, GraphQLNonNull)
        if not nullable:
            type_ = type_.of_type
        if isinstance(type_, GraphQLList):
            return _list_completer(self._completer(type_.of_type, details), nullable)
        if is_leaf_type(type_):
            return _leaf_completer(checked_coercion(type_), nullable)
        if is_object_type(type_):
            builder = self._subfields_builder(type_, details)
            return _object_completer(type_, self._tables.classes.get(type_.name), builder, nullable)
        if is_abstract_type(type_):
            return self._abstract_completer(type_, details, nullable)
        raise UnsupportedSelection(f"output type {type_}")

    def _abstract_completer(self, type_: GraphQLAbstractType, details: list[FieldDetails], nullable: bool) -> Completer:
        # Strawberry resolves an interface or union to the type whose class the value is an
        # instance of (schema_converter.py and types/union.py in 0.341), so a builder is
        # looked up by the value's exact class. Any other class, including a subclass, and
        # values cast with strawberry.cast are left to graphql-core.
        builders: dict[type, Builder] = {}
        for possible_type in self._schema.get_possible_types(type_):
            cls = self._tables.classes.get(possible_type.name)
            if cls is not None:
                builders[cls] = self._subfields_builder(possible_type, details)

        def complete_abstract(value: Any, run: Run) -> Any:
            if value is None:
                if nullable:
                    return None
                raise CompletionError(f"{type_.name} value is null")
            builder = builders.get(value.__class__)
            if builder is None or getattr(value, TYPE_CAST_ATTRIBUTE, None) is not None:
                raise CompletionError(f"cannot resolve the {type_.name} type of {type(value).__name__}")
            return builder(value, run)

        return complete_abstract


def _constant_step(key: str, value: str) -> Step:
    def step(source: Any, out: dict[str, Any], run: Run) -> None:
        out[key] = value

    return step


def _deferred_step(resolver_field: ResolverField) -> Step:
    key = resolver_field.key

    def step(source: Any, out: dict[str, Any], run: Run) -> None:
        # The placeholder keeps the key in document order until the resolver's value arrives.
        out[key] = None
        run.defer(resolver_field, source, out)

    return step


@dataclass(frozen=True)
class Leaf:
    """A scalar or enum field read from an attribute, as graphql-core's default resolver and complete_leaf_value do."""

    key: str
    attribute: str
    # Values of exactly this class need no coercion call: they are output as they are, or
    # through `names` for an enum.
    fast_class: type | None
    names: dict[Any, str] | None
    coerce: Callable[[Any], Any]
    nullable: bool


def _group_leaves(parts: list["Step | Leaf"]) -> tuple[Step, ...]:
    """Merge each run of consecutive leaf fields into one step, keeping the fields' order.

    One step per run reads all its attributes with one attrgetter call and skips a Python
    call per field, which matters for the thousands of leaves of a page of trees.
    """
    steps: list[Step] = []
    run: list[Leaf] = []
    for part in parts:
        if isinstance(part, Leaf):
            run.append(part)
            continue
        if run:
            steps.append(_leaves_step(tuple(run)))
            run = []
        steps.append(part)
    if run:
        steps.append(_leaves_step(tuple(run)))
    return tuple(steps)


def _leaves_step(leaves: tuple[Leaf, ...]) -> Step:
    read = attrgetter(*(leaf.attribute for leaf in leaves))
    single = len(leaves) == 1
    specs = tuple((leaf.key, leaf.fast_class, leaf.names, leaf.coerce, leaf.nullable) for leaf in leaves)

    def step(source: Any, out: dict[str, Any], run: Run) -> None:
        values = (read(source),) if single else read(source)
        for (key, fast_class, names, coerce, nullable), value in zip(specs, values):
            if value.__class__ is fast_class:
                out[key] = value if names is None else names[value]
            elif value is None:
                if not nullable:
                    raise CompletionError(f"{key} is null")
                out[key] = None
            else:
                out[key] = coerce(value)

    return step


def _leaf_completer(coerce: Callable[[Any], Any], nullable: bool) -> Completer:
    def complete_leaf(value: Any, run: Run) -> Any:
        if value is None:
            if nullable:
                return None
            raise CompletionError("leaf value is null")
        return coerce(value)

    return complete_leaf


def _list_completer(complete_item: Completer, nullable: bool) -> Completer:
    def complete_list(value: Any, run: Run) -> Any:
        if value is None:
            if nullable:
                return None
            raise CompletionError("list value is null")
        # graphql-core accepts any iterable but a string or mapping. Lists and tuples are built
        # here, and any other iterable goes to graphql-core.
        if not isinstance(value, (list, tuple)):
            raise CompletionError(f"list value is a {type(value).__name__}")
        return [complete_item(item, run) for item in value]

    return complete_list


def _object_completer(object_type: GraphQLObjectType, cls: type | None, builder: Builder, nullable: bool) -> Completer:
    is_type_of = object_type.is_type_of

    def complete_object(value: Any, run: Run) -> Any:
        if value is None:
            if nullable:
                return None
            raise CompletionError(f"{object_type.name} value is null")
        # graphql-core checks is_type_of when the type defines it; Strawberry's check
        # accepts instances of the type's own class, so that common case skips the call.
        if value.__class__ is not cls and is_type_of is not None and not is_type_of(value, None):
            raise CompletionError(f"{type(value).__name__} is not a {object_type.name}")
        return builder(value, run)

    return complete_object
