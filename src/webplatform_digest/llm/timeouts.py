"""Time budgets on an injected ``sleep``.

With an injected (fake-clock) ``sleep`` a watchdog task sleeps the budget and then cancels the
work, so tests drive timeouts by moving fake time. With the real ``anyio.sleep`` the same budget
is an ``anyio.move_on_after`` scope on the event loop's timer: identical semantics, without
the extra task (this keeps the governor's per-call overhead low).
"""

import math
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

#: an async sleep function (``anyio.sleep`` or a fake clock's)
Sleep = Callable[[float], Awaitable[None]]

T = TypeVar("T")


async def run_within(sleep: Sleep, seconds: float, work: Callable[[], Awaitable[T]]) -> T:
    """Await ``work()``, cancelling it after ``seconds`` (a result that arrived wins).

    Raises:
        TimeoutError: the budget ran out (or was already spent) before ``work`` finished.
    """
    if seconds <= 0:
        raise TimeoutError
    if math.isinf(seconds):
        return await work()
    if sleep is anyio.sleep:
        with anyio.move_on_after(seconds):
            return await work()
        raise TimeoutError
    results: list[T] = []
    errors: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def watchdog() -> None:
            await sleep(seconds)
            group.cancel_scope.cancel()

        group.start_soon(watchdog)
        try:
            results.append(await work())
        except Exception as exc:  # noqa: BLE001 - re-raised below, outside the group (no ExceptionGroup)
            errors.append(exc)
        group.cancel_scope.cancel()
    if errors:
        raise errors[0]
    if results:
        return results[0]
    raise TimeoutError
