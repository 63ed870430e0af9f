"""A compiled execution path for queries over the connector tree.

graphql-core's executor spends most of a large query on per-field work: resolve info,
completion and path bookkeeping for every field of every object. For a valid query whose
fields this path supports, CompiledExecutionExtension instead runs a plan compiled once per
document (plans.py): the same resolvers, one level at a time, with plain dict builders for
everything between them. Every other request, and every request the plan fails on, goes to
graphql-core, which therefore produces all error responses.
"""

from schema.compiled.documents import DocumentCacheExtension
from schema.compiled.execution import CompiledExecutionExtension, compiled_execution, counters

__all__ = ["CompiledExecutionExtension", "DocumentCacheExtension", "compiled_execution", "counters"]
