"""Validation of documents against the gateway's schema.

Strawberry (0.341) checks one-of inputs itself: in a validation rule for literals and in
each input type's `out_type` for variables, and neither names the path inside the argument
or variable. graphql-core 3.3 checks them too, with paths, once its input types have
`is_one_of` set. This module sets that flag and validates with graphql-core's rules, so
each violation gets one error that names its full path.
"""

from collections.abc import Iterator, Sequence
from typing import Any

from graphql import (
    SKIP,
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLNamedType,
    ObjectValueNode,
    GraphQLSchema,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    ValuesOfCorrectTypeRule,
    VisitorAction,
    specified_rules,
    validate,
)
from graphql.pyutils import print_path_list
from graphql.validation import ASTValidationRule
from graphql.utilities.validate_input_value import validate_input_literal
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

# Strawberry's ExecutionContext validates with these rules unless an extension changes them.
DEFAULT_VALIDATION_RULES = tuple(specified_rules)


def mark_one_of_inputs(schema: GraphQLSchema) -> None:
    """Set graphql-core's `is_one_of` on every input type that Strawberry defines as one-of.

    graphql-core then rejects a one-of value with no key, several keys or a null member
    before Strawberry's `out_type` runs, and reports the path inside the variable.
    """
    for named_type in schema.type_map.values():
        if not isinstance(named_type, GraphQLInputObjectType):
            continue
        definition = named_type.extensions.get("strawberry-definition")
        if definition is not None and definition.is_one_of:
            named_type.is_one_of = True


class ValuesOfCorrectTypeWithPathRule(ValuesOfCorrectTypeRule):
    """graphql-core's ValuesOfCorrectTypeRule, with the argument and the path of the invalid part in each message.

    graphql-core reports an invalid literal only with its location. This rule words an error
    inside an argument as graphql-core words one inside a variable, for example
    "Argument 'input' has invalid value at .authSchemeConfigs[0]: ...". An error about the
    whole value keeps graphql-core's message.
    """

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._subject: str | None = None

    def enter_argument(self, node: ArgumentNode, *_args: Any) -> None:
        self._subject = f"Argument '{node.name.value}' has invalid value"

    def enter_variable_definition(self, node: VariableDefinitionNode, *_args: Any) -> None:
        self._subject = f"Variable '${node.variable.name.value}' has invalid default value"

    def leave_argument(self, *_args: Any) -> None:
        self._subject = None

    def leave_variable_definition(self, *_args: Any) -> None:
        self._subject = None

    def is_valid_value_node(self, node: ValueNode, input_type: GraphQLInputType | None) -> VisitorAction:
        if input_type:
            validate_input_literal(node, input_type, self._report, None, None, self.context.hide_suggestions)
        # The whole value has been checked, so its parts need no visit of their own.
        return SKIP

    def _report(self, error: GraphQLError, path: list[str | int]) -> None:
        if path and self._subject is not None:
            error.message = f"{self._subject}{print_path_list(path)}: {error.message}"
        self.report_error(error)


class OneOfNullableVariableRule(OneOfInputValidationRule):
    """Strawberry's one-of rule, reduced to its check that a variable given as the member is non-null.

    ValuesOfCorrectTypeWithPathRule reports every other one-of violation of a literal once
    `mark_one_of_inputs` has run, and Strawberry's full rule would report each one again.
    graphql-core's VariablesInAllowedPositionRule (3.3.2) misses a nullable variable in a
    one-of value inside a list or a non-null position, so this check stays.
    """

    def validate_one_of(self, node: ObjectValueNode, type: GraphQLNamedType) -> None:  # noqa: A002 - the parent's name
        if len(node.fields) == 1 and isinstance(node.fields[0].value, VariableNode):
            super().validate_one_of(node, type)


def gateway_rules(rules: Sequence[type[ASTValidationRule]]) -> list[type[ASTValidationRule]]:
    """Return `rules` with ValuesOfCorrectTypeRule replaced, plus Strawberry's Maybe rule and the reduced one-of rule."""
    replaced = [ValuesOfCorrectTypeWithPathRule if rule is ValuesOfCorrectTypeRule else rule for rule in rules]
    return [*replaced, MaybeNullValidationRule, OneOfNullableVariableRule]


def validate_document(schema: GraphQLSchema, document: DocumentNode, rules: Sequence[type[ASTValidationRule]]) -> list[GraphQLError]:
    return validate(schema, document, gateway_rules(rules))


class ValidationExtension(SchemaExtension):
    """Validate each document with `validate_document` in place of Strawberry's validation step.

    Strawberry skips its own step when an extension has set `pre_execution_errors`, as
    DocumentCacheExtension does for a cached document. An empty rule list still means no
    validation, as in Strawberry.
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.pre_execution_errors is None and context.validation_rules:
            context.pre_execution_errors = validate_document(context.schema._schema, context.graphql_document, context.validation_rules)
        yield
