"""Run a plan one level of resolver fields at a time.

Building a level's objects defers their resolver fields. Each deferred field's resolver is
then called for all its parents, and the coroutines are driven together (run_together), so
every DataLoader they use receives the whole level's keys before it dispatches its batch.
"""

import asyncio
from collections.abc import Coroutine
from typing import Any

import strawberry
from graphql.execution.values import VariableValues, get_argument_values
from strawberry.types.arguments import convert_arguments

from resolvers.context import RequestContext
from schema.compiled.plans import Plan, ResolverField

Parents = list[tuple[Any, dict[str, Any]]]


class ResolverInfo:
    """The part of strawberry.Info that the supported resolvers read: the request context."""

    __slots__ = ("context",)

    def __init__(self, context: RequestContext) -> None:
        self.context = context


class Run:
    """One request's execution of a plan: its context and the resolver fields waiting to run."""

    __slots__ = ("info", "pending", "schema", "variable_values")

    def __init__(self, schema: strawberry.Schema, context: RequestContext, variable_values: VariableValues) -> None:
        self.schema = schema
        self.info = ResolverInfo(context)
        self.variable_values = variable_values
        self.pending: dict[ResolverField, Parents] = {}

    def defer(self, resolver_field: ResolverField, source: Any, target: dict[str, Any]) -> None:
        parents = self.pending.get(resolver_field)
        if parents is None:
            self.pending[resolver_field] = [(source, target)]
        else:
            parents.append((source, target))


async def run_plan(plan: Plan, root_value: Any, run: Run) -> dict[str, Any]:
    """Build the response data of a plan, resolving one level of resolver fields at a time."""
    data = plan.build_root(root_value, run)
    while run.pending:
        level, run.pending = run.pending, {}
        await _resolve_level(level, run)
    return data


async def _resolve_level(level: dict[ResolverField, Parents], run: Run) -> None:
    values_by_field: list[list[Any]] = []
    try:
        for resolver_field, parents in level.items():
            values_by_field.append(_call_resolver(resolver_field, parents, run))
        waiting = [(values, index) for values in values_by_field for index, value in enumerate(values) if _is_coroutine(value)]
    except Exception:
        for values in values_by_field:
            _close_coroutines(values)
        raise

    if waiting:
        results = await run_together([values[index] for values, index in waiting])
        for (values, index), result in zip(waiting, results, strict=True):
            values[index] = result

    for (resolver_field, parents), values in zip(level.items(), values_by_field, strict=True):
        complete, key = resolver_field.complete, resolver_field.key
        for (_source, target), value in zip(parents, values, strict=True):
            target[key] = complete(value, run)


def _call_resolver(resolver_field: ResolverField, parents: Parents, run: Run) -> list[Any]:
    """Call a field's resolver once per parent, passing what Strawberry's get_arguments would.

    The arguments are coerced by graphql-core and converted by Strawberry once per level,
    because they are the same for every parent.
    """
    schema = run.schema
    raw_arguments = get_argument_values(resolver_field.field_def, resolver_field.node, run.variable_values)
    kwargs = convert_arguments(
        raw_arguments,
        resolver_field.field.arguments,
        scalar_registry=schema.schema_converter.scalar_registry,
        config=schema.config,
        info=run.info,
    )
    resolver = resolver_field.field.base_resolver
    function = resolver.wrapped_func
    if resolver.info_parameter is not None:
        kwargs[resolver.info_parameter.name] = run.info
    source_names = [parameter.name for parameter in (resolver.parent_parameter, resolver.root_parameter) if parameter is not None]
    passes_self = resolver.self_parameter is not None

    values: list[Any] = []
    try:
        for source, _target in parents:
            call_kwargs = kwargs | dict.fromkeys(source_names, source) if source_names else kwargs
            values.append(function(source, **call_kwargs) if passes_self else function(**call_kwargs))
    except Exception:
        _close_coroutines(values)
        raise
    return values


def _close_coroutines(values: list[Any]) -> None:
    """Close coroutines that will never run, so Python does not warn that they were never awaited."""
    for value in values:
        if asyncio.iscoroutine(value):
            value.close()


def _is_coroutine(value: Any) -> bool:
    if asyncio.iscoroutine(value):
        return True
    if hasattr(value, "__await__"):
        raise TypeError(f"a resolver returned {type(value).__name__}; the compiled path drives only coroutines")
    return False


async def run_together(coroutines: list[Coroutine[Any, Any, Any]]) -> list[Any]:
    """Run coroutines to completion side by side, and return their results in order.

    This does what an asyncio task per coroutine would, without creating the tasks: each
    coroutine runs until it awaits a future (such as a DataLoader result), and resumes once
    that future is done. Coroutines resume together when one wait wakes several of them, so
    a DataLoader still receives all their keys in one batch. Waiting for whichever future
    finishes first matters: a coroutine may wait for a database connection that another one
    holds until it is resumed.

    When a coroutine raises, the others still run to completion, so each leaves its session
    and connection the way it would under asyncio, and the first error is raised at the end.
    A coroutine that awaits anything but an asyncio future makes the run raise TypeError.
    """
    results: list[Any] = [None] * len(coroutines)
    # The future each unfinished coroutine waits for; None means it can resume now.
    waiting: dict[int, asyncio.Future[Any] | None] = dict.fromkeys(range(len(coroutines)))
    failure: BaseException | None = None
    try:
        while waiting:
            ready = [index for index, future in waiting.items() if future is None or future.done()]
            if not ready:
                await asyncio.wait({future for future in waiting.values() if future is not None}, return_when=asyncio.FIRST_COMPLETED)
                continue
            for index in ready:
                try:
                    waiting[index] = _step(coroutines[index])
                except StopIteration as stop:
                    results[index] = stop.value
                    del waiting[index]
                except Exception as error:
                    del waiting[index]
                    failure = failure or error
    except BaseException:
        # Cancelled from outside (an execution timeout) or a TypeError from _step.
        await _unwind(coroutines, waiting)
        raise
    if failure is not None:
        raise failure
    return results


def _step(coroutine: Coroutine[Any, Any, Any]) -> "asyncio.Future[Any] | None":
    """Resume a coroutine until its next await; return the future it awaits, or None for a bare yield."""
    awaited = coroutine.send(None)
    # A bare `yield` (as in asyncio.sleep(0)) requests a resume on the next round.
    if awaited is None:
        return None
    if not asyncio.isfuture(awaited):
        coroutine.close()
        raise TypeError(f"a resolver awaited {type(awaited).__name__}; the compiled path drives only asyncio futures")
    # A future sets this flag when it yields itself, and the receiver clears it, as
    # asyncio.Task does. While it is set, a second coroutine that awaits the same future
    # (a DataLoader key loaded twice) fails with "await wasn't used with future".
    awaited._asyncio_future_blocking = False
    return awaited


async def _unwind(coroutines: list[Coroutine[Any, Any, Any]], waiting: dict[int, "asyncio.Future[Any] | None"]) -> None:
    """Cancel the unfinished coroutines as asyncio would: raise CancelledError where each waits,
    then drive it until its cleanup (closing sessions, returning connections) is done."""
    for index in list(waiting):
        coroutine = coroutines[index]
        try:
            awaited = coroutine.throw(asyncio.CancelledError())
            while True:
                if asyncio.isfuture(awaited):
                    awaited._asyncio_future_blocking = False
                    await asyncio.wait((awaited,))
                awaited = coroutine.send(None)
        except (StopIteration, asyncio.CancelledError):
            pass
        except Exception:
            # The coroutine failed in its own cleanup; the error being raised matters more.
            coroutine.close()
