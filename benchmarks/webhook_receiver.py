"""A merchant's webhook receiver for ``benchmarks.webhooks``: answers every POST ``204`` at once, on 127.0.0.1.

    python -m benchmarks.webhook_receiver

It runs in its own process (its own event loop, so it competes with neither sender's loop), prints its port, then
obeys one command a line on stdin, answering each with one JSON line:

- ``reset``: forget what it received;
- ``stats``: how many requests came, how many distinct ``webhook-id`` values, and the wall-clock times
  (``time.time()``, comparable across the benchmark's processes) of the first and the last;
- ``quit``: exit.

It is a minimal HTTP/1.1 server on asyncio streams (keep-alive, ``Content-Length`` bodies only), so the receiver's
own cost per request is small and the same for both senders.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import dataclass, field

ANSWER = b"HTTP/1.1 204 No Content\r\nconnection: keep-alive\r\n\r\n"


@dataclass
class Tally:
    count: int = 0
    first: float | None = None
    last: float | None = None
    ids: set[str] = field(default_factory=set)

    def reset(self) -> None:
        self.count, self.first, self.last, self.ids = 0, None, None, set()

    def stats(self) -> dict[str, object]:
        return {"count": self.count, "distinct": len(self.ids), "first": self.first, "last": self.last}


async def serve(tally: Tally, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length, webhook_id = 0, None
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"webhook-id":
                    webhook_id = value.strip().decode()
            if length:
                await reader.readexactly(length)
            now = time.time()
            tally.count += 1
            tally.first = now if tally.first is None else tally.first
            tally.last = now
            if webhook_id is not None:
                tally.ids.add(webhook_id)
            writer.write(ANSWER)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main() -> None:
    tally = Tally()
    server = await asyncio.start_server(lambda r, w: serve(tally, r, w), "127.0.0.1", 0, backlog=256)
    print(server.sockets[0].getsockname()[1], flush=True)
    while True:
        command = (await asyncio.to_thread(sys.stdin.readline)).strip()
        if command in ("", "quit"):
            break
        if command == "reset":
            tally.reset()  # in place: open connections keep their tally
            print(json.dumps({"reset": True}), flush=True)
        elif command == "stats":
            print(json.dumps(tally.stats()), flush=True)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
