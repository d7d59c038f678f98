"""The library's caches together: one query cache and one entity cache per kind of record."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auralis_perf.engines.reference.library.querycache import TaggedLRUCache

CACHE_NAMES = ("query", "tracks", "albums", "artists", "playlists", "search")


class LibraryCaches:
    """query (listings, counts, aggregations, title lookups), tracks, albums, artists, playlists, search."""

    def __init__(self, *, query_entries: int, query_bytes: int, entity_entries: int,
                 entity_bytes: int) -> None:
        self.query = TaggedLRUCache(query_entries, query_bytes, name="query")
        self.tracks = TaggedLRUCache(entity_entries, entity_bytes, name="tracks")
        self.albums = TaggedLRUCache(entity_entries, entity_bytes, name="albums")
        self.artists = TaggedLRUCache(entity_entries, entity_bytes, name="artists")
        self.playlists = TaggedLRUCache(entity_entries, entity_bytes, name="playlists")
        self.search = TaggedLRUCache(entity_entries, entity_bytes, name="search")

    def names(self) -> tuple[str, ...]:
        return CACHE_NAMES

    def __getitem__(self, name: str) -> TaggedLRUCache:
        if name not in CACHE_NAMES:
            raise KeyError(f"no cache {name!r}; caches: {', '.join(CACHE_NAMES)}")
        return getattr(self, name)

    def all(self) -> list[TaggedLRUCache]:
        return [getattr(self, name) for name in CACHE_NAMES]

    def invalidate(self, tags: Iterable[str]) -> int:
        tags = tuple(tags)
        return sum(cache.invalidate(tags) for cache in self.all())

    def clear(self) -> None:
        for cache in self.all():
            cache.clear()

    def reset_stats(self) -> None:
        for cache in self.all():
            cache.reset_stats()

    def bytes(self) -> int:
        return sum(cache.bytes for cache in self.all())

    def stats(self) -> dict[str, dict[str, Any]]:
        return {name: getattr(self, name).stats() for name in CACHE_NAMES}
