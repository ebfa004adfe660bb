"""Run a coroutine without a Task until it first has to wait.

Most queries (cache hits, blocks, refusals) never wait for anything; creating an
asyncio Task for each costs about as much as answering it. Python 3.12's
`eager_task_factory` does the same; this works on 3.11.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Coroutine


def run_eagerly(coro: Coroutine[Any, Any, Any], on_result: Callable[..., None],
                on_error: Callable[..., None], tasks: set, *context: Any) -> None:
    """Drive `coro`; call `on_result(*context, result)` now if it finishes at once, else from a Task kept
    in `tasks`; `on_error(*context, error)` if it raises. `context` instead of a closure: a query's
    callbacks then cost no function objects of their own (most queries finish at once)."""
    try:
        waiting = coro.send(None)
    except StopIteration as stop:
        on_result(*context, stop.value)
        return
    except Exception as error:  # noqa: BLE001 - the caller decides how a failed query is answered
        on_error(*context, error)
        return
    task = asyncio.get_running_loop().create_task(_resume(coro, waiting))
    tasks.add(task)
    task.add_done_callback(lambda done: _deliver(done, coro, on_result, on_error, tasks, context))


async def _resume(coro: Coroutine[Any, Any, Any], waiting: Any) -> Any:
    """Go on where `coro` stopped: wait for what it waits for, then step it again."""
    while True:
        try:
            if waiting is None:
                await asyncio.sleep(0)
            else:
                # Take the yield over as a Task would, so that awaiting the same future again is allowed.
                waiting._asyncio_future_blocking = False
                await waiting
        except BaseException as error:  # cancelled while waiting: the coroutine sees it where it waits
            try:
                waiting = coro.throw(error)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            waiting = coro.send(None)
        except StopIteration as stop:
            return stop.value


def _deliver(task: asyncio.Task, coro: Coroutine[Any, Any, Any], on_result: Callable[..., None],
             on_error: Callable[..., None], tasks: set, context: tuple) -> None:
    tasks.discard(task)
    if task.cancelled():
        if coro.cr_frame is not None:
            # Cancelled before `_resume` first ran: the coroutine still waits and must hear of it.
            try:
                coro.throw(asyncio.CancelledError())
            except BaseException:  # noqa: BLE001 - it ends here either way
                pass
        return
    error = task.exception()
    if error is not None:
        on_error(*context, error)
    else:
        on_result(*context, task.result())
