"""Per-chain nonce manager for the hot wallet, safe under concurrent orders.

allocate() hands out each nonce exactly once: first nonces given back by release()
(a transaction that never reached the node), lowest first so no gap stays open, then
the next fresh one. The first allocation, and the first after resync(), starts from
the node's `pending` transaction count, so transactions sent by someone else with
the same key (or before a restart) are respected.
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

    def allocate(self) -> int:
        with self._lock:
            if self._released:
                return heapq.heappop(self._released)
            if self._next is None:
                self._next = self._pending_count()
            nonce = self._next
            self._next += 1
            return nonce

    def release(self, nonce: int) -> None:
        """Give back a nonce whose transaction was not accepted by the node."""
        with self._lock:
            if self._next is not None and nonce == self._next - 1:
                self._next = nonce
                # Trailing released nonces collapse into the counter as well.
                while self._released and max(self._released) == self._next - 1:
                    self._released.remove(self._next - 1)
                    heapq.heapify(self._released)
                    self._next -= 1
            elif nonce not in self._released:
                heapq.heappush(self._released, nonce)

    def resync(self) -> None:
        """Forget local state: the next allocation asks the node again."""
        with self._lock:
            self._next = None
            self._released.clear()

    def peek(self) -> int | None:
        with self._lock:
            return self._next
