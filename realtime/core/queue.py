"""A bounded queue between two threads that can keep the newest items (the live loop, fan-out, the studio)."""

from __future__ import annotations

import collections
import threading


class FrameQueue:
    """Bounded FIFO between two threads. ``drop_oldest``: a full put discards the oldest item
    (counted in ``dropped``); otherwise a full put waits. ``close`` wakes every waiter."""

    def __init__(self, depth: int, drop_oldest: bool):
        self._items: collections.deque = collections.deque()
        self._depth = depth
        self._drop_oldest = drop_oldest
        self._cond = threading.Condition()
        self.closed = False
        self.dropped = 0

    def put(self, item) -> None:
        with self._cond:
            while len(self._items) >= self._depth and not self.closed:
                if self._drop_oldest:
                    self._items.popleft()
                    self.dropped += 1
                else:
                    self._cond.wait()
            if self.closed:
                return
            self._items.append(item)
            self._cond.notify_all()

    def get(self):
        """The oldest item, or None once the queue is closed and empty."""
        with self._cond:
            while not self._items and not self.closed:
                self._cond.wait()
            item = self._items.popleft() if self._items else None
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
