"""Bounded caches of parsed and validated documents and of compiled plans.

Parsing and validating the connector-tree documents costs more than executing a by-id
query, so both the compiled path and Strawberry's executor (through
DocumentCacheExtension) take documents from here.
"""

import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Any, Generic, TypeVar

import strawberry
from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse
from strawberry.extensions import SchemaExtension

from schema.validation import DEFAULT_VALIDATION_RULES, validate_document

# Measured with tracemalloc (graphql-core 3.3.2, CPython 3.11): a document's syntax tree and
# validation take 100 to 160 bytes per character of text, and a compiled plan about 1.3 KiB
# per field. These budgets keep the two caches near 40 MB and 26 MB per process at most.
MAX_CACHED_DOCUMENT_CHARACTERS = 256 * 1024
MAX_CACHED_PLAN_FIELDS = 20_000
# Longer documents are parsed per request and never compiled.
MAX_CACHED_DOCUMENT_LENGTH = 16 * 1024

Value = TypeVar("Value")


class WeightedLRU(Generic[Value]):
    """A least-recently-used cache whose entries' weights add up to at most `max_weight`.

    The lock matters only when several event loops share one schema, as the tests do with
    several servers in one process.
    """

    def __init__(self, max_weight: int) -> None:
        self._max_weight = max_weight
        self._weight = 0
        self._entries: OrderedDict[Hashable, tuple[Value, int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Value | None:
        with self._lock:
            item = self._entries.get(key)
            if item is None:
                return None
            self._entries.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Value, weight: int) -> Value:
        """Store `value` unless another thread stored one first; return the stored value."""
        with self._lock:
            item = self._entries.get(key)
            if item is not None:
                return item[0]
            self._entries[key] = (value, weight)
            self._weight += weight
            while self._weight > self._max_weight and len(self._entries) > 1:
                _key, (_value, evicted) = self._entries.popitem(last=False)
                self._weight -= evicted
            return value


class CachedDocument:
    """A parsed document and its validation errors under the default rules."""

    def __init__(self, text: str, document: DocumentNode, validation_errors: list[GraphQLError]) -> None:
        self.text = text
        self.document = document
        self.validation_errors = validation_errors
        # The compiled path's view of each operation, by the name Strawberry executes it under.
        self.operations: dict[str | None, Any] = {}


class DocumentCache:
    """Documents by their text, each parsed and validated once."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self._schema = schema
        self._documents: WeightedLRU[CachedDocument] = WeightedLRU(MAX_CACHED_DOCUMENT_CHARACTERS)
        # Compiled plans (or None for an unsupported selection), keyed by the compiled path.
        self.plans: WeightedLRU[Any] = WeightedLRU(MAX_CACHED_PLAN_FIELDS)

    def get(self, text: str) -> CachedDocument | None:
        """Return the cached document, parsing and validating it first if needed.

        Returns None for a text longer than MAX_CACHED_DOCUMENT_LENGTH or one that does not
        parse. The caller then leaves parsing, and reporting any syntax error, to Strawberry.
        """
        if len(text) > MAX_CACHED_DOCUMENT_LENGTH:
            return None
        entry = self._documents.get(text)
        if entry is not None:
            return entry
        try:
            document = parse(text)
        except GraphQLError:
            return None
        entry = CachedDocument(text, document, validate_document(self._schema, document, DEFAULT_VALIDATION_RULES))
        return self._documents.put(text, entry, len(text))


_caches: "weakref.WeakKeyDictionary[strawberry.Schema, DocumentCache]" = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def document_cache(schema: strawberry.Schema) -> DocumentCache:
    """Return the document cache of a Strawberry schema, creating it on first use."""
    cache = _caches.get(schema)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(schema, DocumentCache(schema._schema))
    return cache


class DocumentCacheExtension(SchemaExtension):
    """Serve Strawberry's parse and validation steps from the document cache.

    It steps aside when another extension sets parse options (such as a token limit) or
    changes the validation rules, because the cached results assume the defaults.
    """

    def __init__(self) -> None:
        super().__init__()
        self._entry: CachedDocument | None = None

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and context.graphql_document is None and not context.parse_options:
            self._entry = document_cache(context.schema).get(context.query)
            if self._entry is not None:
                context.graphql_document = self._entry.document
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        entry = self._entry
        if (
            entry is not None
            and context.graphql_document is entry.document
            and context.pre_execution_errors is None
            and tuple(context.validation_rules) == DEFAULT_VALIDATION_RULES
        ):
            context.pre_execution_errors = list(entry.validation_errors)
        yield
