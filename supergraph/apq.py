"""Automatic persisted queries (Apollo APQ): clients send a hash, the router remembers the text."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

from supergraph.errors import PersistedQueryError as PersistedQueryError  # re-exported


class PersistedQueries:
    """A bounded LRU of sha256 hash -> query text."""

    def __init__(self, max_entries: int = 1000) -> None:
        self.max_entries = max_entries
        self._store: OrderedDict[str, str] = OrderedDict()

    def resolve(self, query: str | None, extensions: Any) -> str | None:
        """The query text to run, registering it when the client sends both hash and text."""
        if not isinstance(extensions, dict):
            return query
        persisted = extensions.get("persistedQuery")
        if not isinstance(persisted, dict):
            return query
        if persisted.get("version") != 1:
            raise PersistedQueryError("Unsupported persisted query version", "PERSISTED_QUERY_NOT_SUPPORTED")
        expected = persisted.get("sha256Hash")
        if not isinstance(expected, str):
            raise PersistedQueryError("persistedQuery.sha256Hash is required", "BAD_REQUEST")
        if query is None:
            found = self._store.get(expected)
            if found is None:
                raise PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
            self._store.move_to_end(expected)
            return found
        actual = hashlib.sha256(query.encode()).hexdigest()
        if actual != expected:
            raise PersistedQueryError("provided sha does not match query", "PERSISTED_QUERY_HASH_MISMATCH")
        self._store[expected] = query
        self._store.move_to_end(expected)
        while len(self._store) > self.max_entries:
            self._store.popitem(last=False)
        return query
