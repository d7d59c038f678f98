"""The library's caches together: one query cache and one entity cache per kind of record."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auralis_perf.engines.reference.library.querycache import TaggedLRUCache

CACHE_NAMES = ("query", "tracks", "albums", "artists", "playlists", "search")
#: The cache that serves each read of the repository (`LibraryCaches.cache_for`, the library protocol's
#: question). A listing's page comes from the query cache; the records on it from the tracks cache.
SERVED_BY = {"get_track": "tracks", "get_track_by_path": "tracks", "get_tracks": "tracks", "album_tracks": "tracks",
             "get_album": "albums", "artist_albums": "albums", "get_artist": "artists",
             "get_playlist": "playlists", "list_playlists": "playlists", "search": "search",
             "list_tracks": "query", "count_tracks": "query", "count_by_genre": "query", "count_by_year": "query",
             "genres": "query", "find_by_title": "query", "cursor_at": "query"}


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

    def cache_for(self, read: str) -> str | None:
        """The cache serving the repository read `read`, None for a read no cache serves."""
        return SERVED_BY.get(read)

    def facts(self) -> dict[str, dict[str, Any]]:
        """What each cache is (the library protocol's facts): LRU bounded by entries and measured bytes,
        no expiry, one set per open library, invalidated by tags on writes."""
        return {name: {"policy": "lru", "ttl_seconds": None, "max_entries": cache.max_entries,
                       "max_bytes": cache.max_bytes, "scope": "library", "invalidation": "tags on writes"}
                for name, cache in zip(CACHE_NAMES, self.all())}
