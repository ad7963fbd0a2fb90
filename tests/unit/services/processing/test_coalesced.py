"""Statements of concurrent jobs sharing one round trip (``processing_sql.Coalesced``), on plain coroutines."""

from __future__ import annotations

import asyncio

import pytest

from litestar_payguard.services.processing.coalesced import Coalesced


def _same(request: int) -> int:
    return request


class Calls:
    """Records what the coalescer ran; ``many`` fails for batches holding ``poison``."""

    def __init__(self, poison: int | None = None) -> None:
        self.ones: list[int] = []
        self.manys: list[list[int]] = []
        self.poison = poison
        self.gate = asyncio.Event()

    async def one(self, request: int) -> int:
        await self.gate.wait()
        self.ones.append(request)
        if request == self.poison:
            raise ValueError(request)
        return request * 10

    async def many(self, requests: list[int]) -> list[int]:
        self.manys.append(requests)
        if self.poison in requests:
            raise RuntimeError("the shared statement failed")
        return [request * 10 for request in requests]


async def test_a_request_with_a_free_slot_runs_at_once_and_alone() -> None:
    calls = Calls()
    calls.gate.set()
    coalesced = Coalesced(calls.one, calls.many, _same, limit=1)

    assert [await coalesced(1), await coalesced(2)] == [10, 20]
    assert (calls.ones, calls.manys) == ([1, 2], [])


async def test_requests_that_wait_for_a_running_statement_share_the_next_one() -> None:
    calls = Calls()
    coalesced = Coalesced(calls.one, calls.many, _same, limit=1)

    first = asyncio.ensure_future(coalesced(1))
    await asyncio.sleep(0)  # 1 runs (held at the gate); the others queue behind it
    rest = [asyncio.ensure_future(coalesced(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    calls.gate.set()

    assert [await first, *(await asyncio.gather(*rest))] == [10, 20, 30, 40]
    assert (calls.ones, calls.manys) == ([1], [[2, 3, 4]])


async def _queued(coalesced: Coalesced[int, int], *requests: int) -> list[asyncio.Future[int]]:
    """Request 1 (held at the gate, so it keeps the only slot), then ``requests``, which queue behind it."""
    first = asyncio.ensure_future(coalesced(1))
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(coalesced(n)) for n in requests]
    await asyncio.sleep(0)
    return [first, *rest]


async def test_a_failed_shared_statement_fails_each_of_its_requests_and_no_other() -> None:
    calls = Calls(poison=3)
    coalesced = Coalesced(calls.one, calls.many, _same, limit=1)

    futures = await _queued(coalesced, 2, 3, 4)
    calls.gate.set()
    answers = await asyncio.gather(*futures, return_exceptions=True)
    after = await coalesced(5)

    assert answers[0] == 10
    assert all(isinstance(answer, RuntimeError) for answer in answers[1:])
    assert after == 50
    assert (calls.ones, calls.manys) == ([1, 5], [[2, 3, 4]])


async def test_two_requests_for_the_same_key_never_share_a_statement() -> None:
    calls = Calls()
    coalesced = Coalesced(calls.one, calls.many, _same, limit=1)

    futures = await _queued(coalesced, 2, 2, 3, 2)
    calls.gate.set()

    assert await asyncio.gather(*futures) == [10, 20, 20, 30, 20]
    assert calls.manys == [[2, 3]]
    assert calls.ones == [1, 2, 2]  # the second and the third 2, each in a statement after the last one


async def test_a_request_whose_caller_stopped_waiting_is_dropped() -> None:
    calls = Calls()
    coalesced = Coalesced(calls.one, calls.many, _same, limit=1)

    first, impatient, patient = await _queued(coalesced, 2, 3)
    impatient.cancel()
    calls.gate.set()

    assert (await first, await patient) == (10, 30)
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert (calls.ones, calls.manys) == ([1, 3], [])


async def test_closing_cancels_the_callers_still_waiting() -> None:
    calls = Calls()
    coalesced = Coalesced(calls.one, calls.many, _same, limit=1)

    first, waiting = await _queued(coalesced, 2)
    await coalesced.close()
    calls.gate.set()

    assert await first == 10
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert calls.ones == [1]
