"""Statements of concurrent jobs that share one round trip: a group commit for any kind of statement."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

__all__ = ("Coalesced",)

_In = TypeVar("_In")
_Out = TypeVar("_Out")


class Coalesced(Generic[_In, _Out]):
    """One kind of statement, at most ``limit`` at a time; the requests that come meanwhile go together, as one.

    Like a group commit: with a free slot a request runs at once and alone, so a quiet worker waits for nothing;
    when the worker is busy, the requests that queued behind the running statements share the next one, and each
    transaction, round trip and commit serves several payments. Two requests with the same ``key`` (two jobs
    holding the same payment) never share a statement: the later one waits for the next, so each is decided on
    the row the other left, as through the ORM. A request whose caller stopped waiting is dropped. A failed
    statement fails each of its requests.
    """

    __slots__ = ("_key", "_limit", "_many", "_one", "_running", "_tasks", "_waiting")

    def __init__(
        self,
        one: Callable[[_In], Awaitable[_Out]],
        many: Callable[[list[_In]], Awaitable[list[_Out]]],
        key: Callable[[_In], Hashable],
        limit: int,
    ) -> None:
        self._one = one
        self._many = many
        self._key = key
        self._limit = limit
        self._running = 0
        self._waiting: list[tuple[_In, asyncio.Future[_Out]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, request: _In) -> _Out:
        """Run the request, alone at once when a slot is free, else with the others waiting; its answer."""
        if self._running < self._limit:
            self._running += 1
            try:
                return await self._one(request)
            finally:
                self._running -= 1
                self._serve_waiting()
        answer: asyncio.Future[_Out] = asyncio.get_running_loop().create_future()
        self._waiting.append((request, answer))
        return await answer

    async def close(self) -> None:
        """Stop serving the waiting requests (their callers are cancelled)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        waiting, self._waiting = self._waiting, []
        for _, answer in waiting:
            answer.cancel()

    def _serve_waiting(self) -> None:
        if self._waiting and self._running < self._limit:
            self._running += 1
            task = asyncio.create_task(self._run_waiting())  # not the caller's: its own answer is ready
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _next_batch(self) -> list[tuple[_In, asyncio.Future[_Out]]]:
        """The waiting requests still wanted, one per key; the others wait for the next statement."""
        batch: list[tuple[_In, asyncio.Future[_Out]]] = []
        later: list[tuple[_In, asyncio.Future[_Out]]] = []
        keys: set[Hashable] = set()
        for request, answer in self._waiting:
            if answer.done():  # its caller stopped waiting (a job timed out, a worker stopping)
                continue
            key = self._key(request)
            (later if key in keys else batch).append((request, answer))
            keys.add(key)
        self._waiting = later
        return batch

    async def _run_waiting(self) -> None:
        batch: list[tuple[_In, asyncio.Future[_Out]]] = []
        try:
            while batch := self._next_batch():
                requests = [request for request, _ in batch]
                try:
                    answers = [await self._one(requests[0])] if len(requests) == 1 else await self._many(requests)
                except Exception as exc:  # every request of it failed, each caller hears so
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                for (_, answer), value in zip(batch, answers, strict=True):
                    if not answer.done():
                        answer.set_result(value)
        except BaseException:  # cancelled (the worker is stopping): no caller may wait for an answer forever
            for _, answer in [*batch, *self._waiting]:
                answer.cancel()
            self._waiting = []
            raise
        finally:
            self._running -= 1
