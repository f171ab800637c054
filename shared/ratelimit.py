"""A bounded in-process sliding-window counter, for throttling failed logins and public endpoints.

Per process by design (each subgraph runs as one process here); the number of tracked keys is
bounded so an attacker cycling keys cannot grow memory without limit.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque


class SlidingWindow:
    """Counts events per key within the last `window_s` seconds."""

    def __init__(self, limit: int, window_s: float, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def _trim(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            events = deque()
            self._events[key] = events
            while len(self._events) > self.max_keys:
                self._events.popitem(last=False)
        self._events.move_to_end(key)
        while events and now - events[0] > self.window_s:
            events.popleft()
        return events

    def count(self, key: str, now: float | None = None) -> int:
        return len(self._trim(key, time.monotonic() if now is None else now))

    def is_limited(self, key: str, now: float | None = None) -> bool:
        return self.count(key, now) >= self.limit

    def hit(self, key: str, now: float | None = None) -> int:
        moment = time.monotonic() if now is None else now
        events = self._trim(key, moment)
        events.append(moment)
        return len(events)

    def allow(self, key: str, now: float | None = None) -> bool:
        """Record one event unless the key is already at its limit; True when it was allowed."""
        moment = time.monotonic() if now is None else now
        events = self._trim(key, moment)
        if len(events) >= self.limit:
            return False
        events.append(moment)
        return True

    def reset(self, key: str) -> None:
        self._events.pop(key, None)
