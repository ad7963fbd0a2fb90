"""Statements of concurrent jobs sharing one round trip (``processing_sql._Coalesced``), on plain coroutines."""

from __future__ import annotations

import asyncio

import pytest

from litestar_payguard.services.processing_sql import _Coalesced


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
    coalesced = _Coalesced(calls.one, calls.many, limit=1)

    assert [await coalesced(1), await coalesced(2)] == [10, 20]
    assert (calls.ones, calls.manys) == ([1, 2], [])


async def test_requests_that_wait_for_a_running_statement_share_the_next_one() -> None:
    calls = Calls()
    coalesced = _Coalesced(calls.one, calls.many, limit=1)

    first = asyncio.ensure_future(coalesced(1))
    await asyncio.sleep(0)  # 1 runs (held at the gate); the others queue behind it
    rest = [asyncio.ensure_future(coalesced(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    calls.gate.set()

    assert [await first, *(await asyncio.gather(*rest))] == [10, 20, 30, 40]
    assert (calls.ones, calls.manys) == ([1], [[2, 3, 4]])


async def test_a_failed_shared_statement_runs_each_request_alone_and_each_gets_its_own_answer() -> None:
    calls = Calls(poison=3)
    coalesced = _Coalesced(calls.one, calls.many, limit=1)

    first = asyncio.ensure_future(coalesced(1))
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(coalesced(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    calls.gate.set()
    answers = await asyncio.gather(first, *rest, return_exceptions=True)

    assert answers[:2] == [10, 20]
    assert isinstance(answers[2], ValueError)
    assert answers[3] == 40
    assert calls.manys == [[2, 3, 4]]
    assert calls.ones == [1, 2, 3, 4]


async def test_a_caller_that_gives_up_waiting_leaves_the_others_their_answers() -> None:
    calls = Calls()
    coalesced = _Coalesced(calls.one, calls.many, limit=1)

    first = asyncio.ensure_future(coalesced(1))
    await asyncio.sleep(0)
    impatient = asyncio.ensure_future(coalesced(2))
    patient = asyncio.ensure_future(coalesced(3))
    await asyncio.sleep(0)
    impatient.cancel()
    calls.gate.set()

    assert (await first, await patient) == (10, 30)
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert calls.manys == [[2, 3]]  # the statement still ran for it: its job's lease covers that
