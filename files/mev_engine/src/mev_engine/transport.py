"""When each WebSocket message arrived at the engine, taken at the transport.

The websockets library reads the socket in its protocol's `data_received` (called by asyncio as
soon as the socket had bytes), parses frames there and queues whole messages; the consumer's
`recv()` may take one much later when the event loop is busy. `StampedConnection` records the
clocks in `data_received`, before any parsing, and keeps one stamp per completed data message in
`arrivals`, in message order: `next_arrival()` after each `recv()` answers when that message's
last bytes came off the socket (as close to the socket as asyncio lets a protocol get; messages
that came in one read share its stamp).
"""

from __future__ import annotations

import time
from collections import deque

from websockets.asyncio.client import ClientConnection
from websockets.frames import DATA_OPCODES, Frame
from websockets.protocol import Event


class StampedConnection(ClientConnection):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._stamp = (0.0, 0.0)
        self.arrivals: deque[tuple[float, float]] = deque()

    def data_received(self, data: bytes) -> None:
        self._stamp = (time.monotonic(), time.time())
        super().data_received(data)

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode in DATA_OPCODES and event.fin:
            self.arrivals.append(self._stamp)
        super().process_event(event)

    def next_arrival(self) -> tuple[float, float]:
        """(monotonic, wall clock) of the message recv() returned last."""
        try:
            return self.arrivals.popleft()
        except IndexError:  # not expected: every message was stamped; the consumer's clock then
            return time.monotonic(), time.time()
