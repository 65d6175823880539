"""Per-chain nonce manager for the hot wallet, safe under concurrent orders.

allocate() hands out each nonce exactly once: first nonces given back by release()
(a transaction that never reached the node), lowest first so no gap stays open, then
the next fresh one. The first allocation, and the first after resync(), starts from
the node's `pending` transaction count, so transactions sent by someone else with
the same key (or before a restart) are respected.

A nonce is "in hand" from allocate() (or claim()) until done() or release(): its transaction
is being signed and sent. gap() tells the gap filler whether the node's `pending` count
stops at a nonce below the next one that nobody is sending right now: a transaction the
node dropped, or a released nonce no order has taken again. claim() takes it for the filler.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable


class NonceManager:
    def __init__(self, pending_count: Callable[[], int]) -> None:
        self._pending_count = pending_count
        self._lock = threading.Lock()
        self._next: int | None = None
        self._released: list[int] = []
        self._in_hand: set[int] = set()

    def allocate(self) -> int:
        with self._lock:
            if self._released:
                nonce = heapq.heappop(self._released)
            else:
                if self._next is None:
                    self._next = self._pending_count()
                nonce = self._next
                self._next += 1
            self._in_hand.add(nonce)
            return nonce

    def done(self, nonce: int) -> None:
        """The nonce's transaction reached the node (or its fate is left to the gap filler)."""
        with self._lock:
            self._in_hand.discard(nonce)

    def release(self, nonce: int) -> None:
        """Give back a nonce whose transaction was not accepted by the node."""
        with self._lock:
            self._in_hand.discard(nonce)
            if self._next is not None and nonce == self._next - 1:
                self._next = nonce
                # Trailing released nonces collapse into the counter as well.
                while self._released and max(self._released) == self._next - 1:
                    self._released.remove(self._next - 1)
                    heapq.heapify(self._released)
                    self._next -= 1
            elif nonce not in self._released:
                heapq.heappush(self._released, nonce)

    def is_gap(self, node_pending: int) -> bool:
        """Whether the node's pending count stops below the engine's next nonce at a nonce that
        nobody is sending now (the caller still checks that none of its transactions is there)."""
        with self._lock:
            return self._next is not None and node_pending < self._next and node_pending not in self._in_hand

    def claim(self, nonce: int) -> bool:
        """Take a gap's nonce for a filler transaction (done() after sending); False when an
        order took it meanwhile."""
        with self._lock:
            if self._next is None:  # nothing allocated since (re)start: the gap is the node's pending count
                self._next = nonce
            if nonce in self._in_hand or nonce > self._next:
                return False
            if nonce == self._next:
                self._next += 1
            elif nonce in self._released:
                self._released.remove(nonce)
                heapq.heapify(self._released)
            self._in_hand.add(nonce)
            return True

    def resync(self) -> None:
        """Forget local state: the next allocation asks the node again."""
        with self._lock:
            self._next = None
            self._released.clear()

    def peek(self) -> int | None:
        with self._lock:
            return self._next
