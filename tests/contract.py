"""Compare a served schema with the contract: every contract name must exist with its shape."""

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    build_schema,
    is_non_null_type,
    parse,
)
from graphql.language import NamedTypeNode, TypeDefinitionNode, visit
from graphql.pyutils import Undefined
from graphql.language.visitor import Visitor

# A field name that no real type uses; it fills the types the contract leaves open.
_OPEN_FIELD = "contractLeavesThisOpen"


def _open_types(contract_sdl: str) -> set[str]:
    """Return the input types the contract names but leaves for the implementers to define."""
    document = parse(contract_sdl)
    defined = {node.name.value for node in document.definitions if isinstance(node, TypeDefinitionNode)}
    referenced: set[str] = set()

    class Collect(Visitor):
        def enter_named_type(self, node: NamedTypeNode, *_args: object) -> None:
            referenced.add(node.name.value)

    visit(document, Collect())
    builtin = {"String", "Int", "Float", "Boolean", "ID"}
    return referenced - defined - builtin


def _kind(named_type: object) -> str:
    return type(named_type).__name__


def _compare_fields(name: str, contract_type, served_type, problems: list[str]) -> None:
    for field_name, field in contract_type.fields.items():
        served_field = served_type.fields.get(field_name)
        if served_field is None:
            problems.append(f"{name}.{field_name}: missing")
            continue
        if str(served_field.type) != str(field.type):
            problems.append(f"{name}.{field_name}: type {served_field.type}, contract {field.type}")
        for arg_name, arg in getattr(field, "args", {}).items():
            served_arg = served_field.args.get(arg_name)
            if served_arg is None:
                problems.append(f"{name}.{field_name}({arg_name}): missing")
            elif str(served_arg.type) != str(arg.type):
                problems.append(f"{name}.{field_name}({arg_name}): type {served_arg.type}, contract {arg.type}")
        if hasattr(served_field, "args"):
            for arg_name, served_arg in served_field.args.items():
                if arg_name not in field.args and is_non_null_type(served_arg.type) and served_arg.default_value is Undefined:
                    problems.append(f"{name}.{field_name}({arg_name}): extra required argument")


def contract_problems(contract_sdl: str, served: GraphQLSchema) -> list[str]:
    """Return one line per difference; an empty list means the served schema honours the contract."""
    open_types = _open_types(contract_sdl)
    placeholders = "".join(f"\ninput {name} {{ {_OPEN_FIELD}: Boolean }}" for name in sorted(open_types))
    contract = build_schema(contract_sdl + placeholders)
    problems: list[str] = []
    for name, contract_type in contract.type_map.items():
        if name.startswith("__"):
            continue
        served_type = served.type_map.get(name)
        if served_type is None:
            problems.append(f"{name}: missing")
            continue
        if name in open_types:
            if not isinstance(served_type, GraphQLInputObjectType):
                problems.append(f"{name}: must be an input object")
            continue
        if _kind(served_type) != _kind(contract_type):
            problems.append(f"{name}: is a {_kind(served_type)}, contract has a {_kind(contract_type)}")
            continue
        if isinstance(contract_type, GraphQLEnumType):
            missing = set(contract_type.values) - set(served_type.values)
            problems += [f"{name}.{value}: missing enum value" for value in sorted(missing)]
        elif isinstance(contract_type, GraphQLUnionType):
            members = {member.name for member in served_type.types}
            problems += [f"{name}: missing member {member.name}" for member in contract_type.types if member.name not in members]
        elif isinstance(contract_type, (GraphQLObjectType, GraphQLInterfaceType)):
            interfaces = {interface.name for interface in served_type.interfaces}
            problems += [f"{name}: does not implement {item.name}" for item in contract_type.interfaces if item.name not in interfaces]
            _compare_fields(name, contract_type, served_type, problems)
        elif isinstance(contract_type, GraphQLInputObjectType):
            if contract_type.is_one_of != served_type.is_one_of:
                problems.append(f"{name}: @oneOf differs")
            _compare_fields(name, contract_type, served_type, problems)
            for field_name, field in served_type.fields.items():
                if field_name not in contract_type.fields and is_non_null_type(field.type) and field.default_value is Undefined:
                    problems.append(f"{name}.{field_name}: extra required input field")
        elif isinstance(contract_type, GraphQLScalarType):
            pass
    return problems
