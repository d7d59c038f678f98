"""Cache correctness, measured: stale reads under writes, what survives an edit, what a cascade drops.

A *stale read* is a read through the cached repository (`lib.cached`) whose result differs from the same
read on the uncached repository (`lib.repo`, the database's truth) at that moment. The scenarios first
read what a write may change (so that it sits in the caches), then write through `lib.cached`, then read
it all again and compare. Nothing is assumed about how the caches tag their entries.

    tally = stale_sequence(lib, model, seed=1, steps=200, writes=METADATA_WRITES, reads=ALL_READS)
    tally.stale        # 0 is the only pass
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auralis_perf.engines.protocols.library import Album, Artist, LibraryFeature, Playlist, Track, library_features
from auralis_perf.library_tracks import EPOCH, generate_tracks
from auralis_perf.suites.library_workload.workload import (
    ENTITY_READS,
    PAGE,
    QUERY_READS,
    AccessModel,
    ArtistEntry,
    Op,
    cache_totals,
    call,
    describe_op,
    distinct,
    entity_op,
    query_ops,
)

#: Tag edits of one track, an album or an artist (what a tag editor does).
METADATA_WRITES = ("title", "genre", "year", "track_number", "move_album", "change_artist", "rename_album",
                   "rename_artist", "favorite", "play")
#: Writes that change which tracks a listing holds, or a playlist's entries.
STRUCTURE_WRITES = ("add_track", "delete_track", "playlist_add", "playlist_move", "playlist_remove")
ALL_READS = QUERY_READS + ENTITY_READS
#: The writes that need an optional part of the library.
WRITE_FEATURES = {"rename_album": LibraryFeature.RENAME, "rename_artist": LibraryFeature.RENAME,
                  "playlist_add": LibraryFeature.PLAYLISTS, "playlist_move": LibraryFeature.PLAYLISTS,
                  "playlist_remove": LibraryFeature.PLAYLISTS}
MAX_EXAMPLES = 12
#: Floats (durations summed by SQLite) may differ in the last bits when rows are summed in another order
#: after an unrelated write; that is not a stale value.
FLOAT_REL_TOL = 1e-12


def same_result(cached: Any, fresh: Any) -> bool:
    """Equal results, floats within FLOAT_REL_TOL of each other (records, sequences, mappings)."""
    if isinstance(cached, float) and isinstance(fresh, float):
        return math.isclose(cached, fresh, rel_tol=FLOAT_REL_TOL, abs_tol=1e-9)
    if type(cached) is not type(fresh):
        return False
    if dataclasses.is_dataclass(cached) and not isinstance(cached, type):
        return all(same_result(getattr(cached, f.name), getattr(fresh, f.name)) for f in dataclasses.fields(cached))
    if isinstance(cached, (list, tuple)):
        return len(cached) == len(fresh) and all(same_result(a, b) for a, b in zip(cached, fresh))
    if isinstance(cached, dict):
        return cached.keys() == fresh.keys() and all(same_result(cached[k], fresh[k]) for k in cached)
    return cached == fresh


@dataclass
class StaleTally:
    """Reads compared with the database's truth, and the stale ones."""

    reads: int = 0
    stale: int = 0
    writes: int = 0
    writes_by_kind: Counter = field(default_factory=Counter)
    reads_by_method: Counter = field(default_factory=Counter)
    stale_by_method: Counter = field(default_factory=Counter)
    examples: list[dict[str, str]] = field(default_factory=list)
    #: The comparison that took longest (cached read plus database read): where a slow sequence's time went.
    slowest_read_s: float = 0.0
    slowest_read: str = ""
    #: Sequences that their time budget stopped before all their steps.
    stopped_by_budget: int = 0

    def compare(self, lib: Any, op: Op, *, after: str = "") -> bool:
        """Read `op` through the caches and from the database; True (and counted) when they differ."""
        started = time.perf_counter()
        cached = call(lib.cached, op)
        fresh = call(lib.repo, op)
        took = time.perf_counter() - started
        if took > self.slowest_read_s:
            self.slowest_read_s, self.slowest_read = took, describe_op(op)
        self.reads += 1
        self.reads_by_method[op[0]] += 1
        if cached == fresh or same_result(cached, fresh):
            return False
        self.stale += 1
        self.stale_by_method[op[0]] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append({"read": describe_op(op), "after": after,
                                  "difference": first_difference(cached, fresh)})
        return True

    def add(self, other: "StaleTally") -> None:
        self.reads += other.reads
        self.stale += other.stale
        self.writes += other.writes
        self.writes_by_kind.update(other.writes_by_kind)
        self.reads_by_method.update(other.reads_by_method)
        self.stale_by_method.update(other.stale_by_method)
        self.examples.extend(other.examples[:max(0, MAX_EXAMPLES - len(self.examples))])
        self.stopped_by_budget += other.stopped_by_budget
        if other.slowest_read_s > self.slowest_read_s:
            self.slowest_read_s, self.slowest_read = other.slowest_read_s, other.slowest_read

    def to_dict(self) -> dict[str, Any]:
        return {"reads": self.reads, "stale": self.stale, "writes": self.writes,
                "writes_by_kind": dict(self.writes_by_kind), "reads_by_method": dict(self.reads_by_method),
                "stale_by_method": dict(self.stale_by_method), "stale_examples": list(self.examples),
                "slowest_read": self.slowest_read, "slowest_read_ms": round(self.slowest_read_s * 1e3, 3),
                "stopped_by_budget": self.stopped_by_budget}


def first_difference(cached: Any, fresh: Any, where: str = "result") -> str:
    """Where two results first differ, e.g. "result.items[3].title: 'Old' != 'New'" (for reports)."""
    if type(cached) is not type(fresh):
        return f"{where}: {_short(cached)} != {_short(fresh)}"
    if dataclasses.is_dataclass(cached):
        for f in dataclasses.fields(cached):
            a, b = getattr(cached, f.name), getattr(fresh, f.name)
            if not same_result(a, b):
                return first_difference(a, b, f"{where}.{f.name}")
    elif isinstance(cached, (list, tuple)):
        if len(cached) != len(fresh):
            return f"{where}: {len(cached)} items cached, {len(fresh)} in the database"
        for i, (a, b) in enumerate(zip(cached, fresh)):
            if not same_result(a, b):
                return first_difference(a, b, f"{where}[{i}]")
    return f"{where}: {_short(cached)} != {_short(fresh)}"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# --------------------------------------------------------------------------------------------- writes

@dataclass
class Write:
    kind: str
    description: str
    apply: Any                     # callable(cached repository) -> None
    related: list[Op]              # reads whose result the write may change (most telling first)
    deleted_track: int | None = None


@dataclass
class WriteState:
    """What earlier writes did to the library, so later ones pick live targets."""

    deleted: set[int] = field(default_factory=set)
    step: int = 0


def alive_track(lib: Any, model: AccessModel, rng: np.random.Generator, state: WriteState,
                artist: ArtistEntry | None = None) -> Any | None:
    """A popular track that still exists (its record from the database), or None."""
    for _ in range(8):
        track_id = model.track_id(rng, artist)
        if track_id in state.deleted:
            continue
        track = lib.repo.get_track(track_id)
        if track is not None:
            return track
        state.deleted.add(track_id)
    return None


def _words(text: str) -> list[str]:
    return [w for w in "".join(c if c.isalnum() else " " for c in text).split() if len(w) >= 3]


def track_reads(lib: Any, track: Any, *, new_title: str | None = None, new_genre: str | None = None) -> list[Op]:
    """Every read whose result can show this track, its album or its artist."""
    reads: list[Op] = [("get_track", {"track_id": track.id}),
                       ("get_track_by_path", {"path": track.path}),
                       ("get_tracks", {"track_ids": [track.id, max(1, track.id - 1)]})]
    prefixes = LibraryFeature.TITLE_PREFIX in library_features(lib)  # an optional read
    for title in filter(None, (track.title, new_title)):
        words = _words(title)
        if words:
            reads.append(("search", {"text": words[0]}))
        if prefixes and len(title) >= 3:
            reads.append(("find_by_title", {"prefix": title[:3].lower()}))
    if track.album_id is not None:
        reads += [("album_tracks", {"album_id": track.album_id}), ("get_album", {"album_id": track.album_id})]
    reads += [("list_tracks", {"artist_id": track.artist_id, "sort": "title", "limit": PAGE}),
              ("count_tracks", {"artist_id": track.artist_id}),
              ("artist_albums", {"artist_id": track.artist_id}),
              ("get_artist", {"artist_id": track.artist_id})]
    for genre in dict.fromkeys(filter(None, (track.genre, new_genre))):
        reads += [("list_tracks", {"genre": genre, "sort": "title", "limit": PAGE}),
                  ("count_tracks", {"genre": genre})]
    reads += [("count_by_genre", {}), ("count_by_year", {}), ("genres", {}),
              ("list_tracks", {"sort": "title", "limit": PAGE}),
              ("list_tracks", {"sort": "artist", "limit": PAGE}),
              ("list_tracks", {"sort": "added", "descending": True, "limit": PAGE}),
              ("list_tracks", {"favorite": True, "sort": "added", "descending": True, "limit": PAGE})]
    if track.year is not None:
        reads.append(("list_tracks", {"year_from": track.year, "year_to": track.year, "sort": "title",
                                      "limit": PAGE}))
    if LibraryFeature.PLAYLISTS in library_features(lib):
        for playlist_id in list(lib.repo.playlists_containing([track.id]))[:2]:
            reads.append(("get_playlist", {"playlist_id": playlist_id}))
        reads.append(("list_playlists", {}))
    return reads


def supported_writes(model: AccessModel, writes: Sequence[str]) -> tuple[str, ...]:
    """The write kinds among `writes` the library offers (renames and playlists are optional)."""
    return tuple(w for w in writes if WRITE_FEATURES.get(w, "") in model.features or w not in WRITE_FEATURES)


def make_write(kind: str, lib: Any, model: AccessModel, rng: np.random.Generator, state: WriteState) -> Write | None:
    """One write of `kind` on a popular target, with the reads it may change; None if no target is left."""
    state.step += 1
    step = state.step
    repo = lib.repo
    if kind in ("playlist_add", "playlist_move", "playlist_remove"):
        return _playlist_write(kind, lib, model, rng, state)
    if kind == "add_track":
        return _add_track_write(lib, model, rng, state)
    track = alive_track(lib, model, rng, state)
    if track is None:
        return None
    tid = track.id
    if kind == "title":
        title = f"Zéphyr{step} {track.title}"
        return Write(kind, f"retitle track {tid}", lambda c: c.update_track(tid, title=title),
                     track_reads(lib, track, new_title=title))
    if kind == "genre":
        others = [g for g in model.genres if g != track.genre] or model.genres
        genre = others[int(rng.integers(len(others)))]
        return Write(kind, f"genre of track {tid} -> {genre}", lambda c: c.update_track(tid, genre=genre),
                     track_reads(lib, track, new_genre=genre))
    if kind == "year":
        year = (track.year or 2000) + int(rng.integers(1, 4))
        return Write(kind, f"year of track {tid} -> {year}", lambda c: c.update_track(tid, year=year),
                     track_reads(lib, track) + [("list_tracks", {"year_from": year, "year_to": year,
                                                                 "sort": "title", "limit": PAGE})])
    if kind == "track_number":
        number = (track.track_number or 0) + 1
        return Write(kind, f"track number of {tid} -> {number}",
                     lambda c: c.update_track(tid, track_number=number), track_reads(lib, track))
    if kind == "move_album":
        albums = [a.id for a in repo.artist_albums(track.artist_id) if a.id != track.album_id]
        if not albums:
            return None
        album_id = albums[int(rng.integers(len(albums)))]
        return Write(kind, f"track {tid} -> album {album_id}", lambda c: c.update_track(tid, album_id=album_id),
                     track_reads(lib, track) + [("album_tracks", {"album_id": album_id}),
                                                ("get_album", {"album_id": album_id})])
    if kind == "change_artist":
        artist = model.artist(rng)
        if artist.id == track.artist_id:
            return None
        aid = artist.id
        return Write(kind, f"track {tid} -> artist {aid}", lambda c: c.update_track(tid, artist_id=aid),
                     track_reads(lib, track) + [("list_tracks", {"artist_id": aid, "sort": "title", "limit": PAGE}),
                                                ("count_tracks", {"artist_id": aid})])
    if kind == "rename_album":
        if track.album_id is None:
            return None
        album = repo.get_album(track.album_id)
        album_id, title = album.id, f"{album.title} (Remaster {step})"
        reads = track_reads(lib, track) + [("search", {"text": w}) for w in _words(album.title)[:1]]
        return Write(kind, f"rename album {album_id}", lambda c: c.rename_album(album_id, title), reads)
    if kind == "rename_artist":
        artist = repo.get_artist(track.artist_id)
        aid, name = artist.id, f"{artist.name} & Ensemble {step}"
        reads = track_reads(lib, track) + [("search", {"text": w}) for w in _words(artist.name)[:1]]
        return Write(kind, f"rename artist {aid}", lambda c: c.rename_artist(aid, name), reads)
    if kind == "favorite":
        value = not track.favorite
        return Write(kind, f"favourite of track {tid} -> {value}", lambda c: c.set_favorite(tid, value),
                     track_reads(lib, track))
    if kind == "play":
        at = EPOCH + 86400.0 * step
        return Write(kind, f"play track {tid}", lambda c: c.record_play(tid, at=at), track_reads(lib, track))
    if kind == "delete_track":
        return Write(kind, f"delete track {tid}", lambda c: c.delete_track(tid), track_reads(lib, track),
                     deleted_track=tid)
    raise ValueError(f"unknown write kind {kind!r}")


def _add_track_write(lib: Any, model: AccessModel, rng: np.random.Generator, state: WriteState) -> Write | None:
    neighbour = alive_track(lib, model, rng, state)
    if neighbour is None:
        return None
    template = generate_tracks(1, seed=10_000 + state.step)[0]
    album = lib.repo.get_album(neighbour.album_id) if neighbour.album_id is not None else None
    artist = lib.repo.get_artist(neighbour.artist_id)
    new = dataclasses.replace(template, path=f"/added/{state.step}/Nouveau «{state.step}».flac",
                              title=f"Nouveau{state.step} {template.title}", artist=artist.name,
                              album=album.title if album else None, genre=neighbour.genre, featured=())
    reads = track_reads(lib, neighbour, new_title=new.title) + [("get_track_by_path", {"path": new.path})]
    return Write("add_track", f"add a track to artist {artist.id}", lambda c: c.add_track(new), reads)


def _playlist_write(kind: str, lib: Any, model: AccessModel, rng: np.random.Generator,
                    state: WriteState) -> Write | None:
    if not model.playlists:
        return None
    pid = model.playlist(rng)
    playlist = lib.repo.get_playlist(pid)
    if playlist is None:
        return None
    reads: list[Op] = [("get_playlist", {"playlist_id": pid}), ("list_playlists", {})]
    n = len(playlist.tracks)
    if kind == "playlist_add":
        track = alive_track(lib, model, rng, state)
        if track is None:
            return None
        tid = track.id
        return Write(kind, f"add track {tid} to playlist {pid}", lambda c: c.add_to_playlist(pid, [tid]), reads)
    if n < 2:
        return None
    if kind == "playlist_move":
        source, target = int(rng.integers(n)), int(rng.integers(n))
        return Write(kind, f"move entry {source} -> {target} in playlist {pid}",
                     lambda c: c.move_in_playlist(pid, source, target), reads)
    index = int(rng.integers(n))
    return Write(kind, f"remove entry {index} of playlist {pid}", lambda c: c.remove_from_playlist(pid, index),
                 reads)


# ------------------------------------------------------------------------------------------ scenarios

def random_read(lib: Any, model: AccessModel, rng: np.random.Generator, reads: Sequence[str]) -> Op | None:
    """A read of the browsing mix (or an entity read) whose method is one of `reads`."""
    for _ in range(10):
        if rng.random() < 0.5:
            op = query_ops(model, rng, 1)[0]
        else:
            kind = ("track", "track_path", "album", "album_tracks", "artist", "artist_albums", "playlist",
                    "search")[int(rng.integers(8))]
            if kind == "playlist" and not model.playlists:
                continue
            if not model.offers(kind):
                continue
            try:
                op = entity_op(model, rng, kind, lib.repo)
            except LookupError:  # a deleted track
                continue
        if op[0] in reads:
            return op
    return None


def stale_sequence(lib: Any, model: AccessModel, *, seed: int, steps: int, writes: Sequence[str],
                   reads: Sequence[str], related_per_write: int = 10, random_reads: int = 2,
                   seconds: float | None = None) -> StaleTally:
    """A randomized sequence of `steps` writes of the given kinds, each surrounded by reads.

    Before each write, up to `related_per_write` reads it may change are made through the caches (so
    they are cached); after it, the same reads and `random_reads` reads of the browsing mix are compared
    with the database. Every difference is a stale read.

    With `seconds`, no write starts once that much time has passed (the first always does): a library
    whose reads take seconds each still finishes, with fewer writes checked (`tally.writes`).
    """
    rng = np.random.default_rng(seed)
    tally = StaleTally()
    state = WriteState(step=seed * 100_000)
    writes = supported_writes(model, writes)
    started = time.monotonic()
    for _ in range(steps):
        if seconds is not None and tally.writes and time.monotonic() - started > seconds:
            tally.stopped_by_budget += 1
            break
        kind = writes[int(rng.integers(len(writes)))]
        write = make_write(kind, lib, model, rng, state)
        if write is None:
            continue
        related = [op for op in distinct(write.related) if op[0] in reads]
        chosen = _pick(related, related_per_write, rng)
        for op in chosen:
            call(lib.cached, op)  # now cached (or refreshed after an earlier write)
        write.apply(lib.cached)
        tally.writes += 1
        tally.writes_by_kind[kind] += 1
        if write.deleted_track is not None:
            state.deleted.add(write.deleted_track)
        for op in chosen:
            tally.compare(lib, op, after=write.description)
        for _ in range(random_reads):
            op = random_read(lib, model, rng, reads)
            if op is not None:
                tally.compare(lib, op, after=write.description)
    return tally


def _pick(ops: list[Op], limit: int, rng: np.random.Generator) -> list[Op]:
    """The first three reads (the most telling ones) and a random sample of the rest, up to `limit`."""
    if len(ops) <= limit:
        return ops
    head, rest = ops[:3], ops[3:]
    chosen = rng.choice(len(rest), size=limit - len(head), replace=False)
    return head + [rest[i] for i in sorted(chosen)]


def is_hit(lib: Any, op: Op) -> bool:
    """Make the read through the caches and tell whether some cache answered it."""
    before = cache_totals(lib)["hits"]
    call(lib.cached, op)
    return cache_totals(lib)["hits"] > before


@dataclass
class SurvivalResult:
    """What one edit did to entries that it has nothing to do with."""

    edit: str
    unrelated_cached: int
    unrelated_kept: int
    possibly_related_cached: int
    possibly_related_kept: int
    stale: int
    kept_by_method: dict[str, list[int]]      # method -> [kept, cached before]
    dropped_examples: list[str]
    stopped_by_budget: bool = False           # fewer unrelated reads than asked: the time budget ran out
    slowest_read: str = ""
    slowest_read_ms: float = 0.0

    @property
    def kept_percent(self) -> float:
        return 100.0 * self.unrelated_kept / self.unrelated_cached if self.unrelated_cached else math.nan


def unrelated_reads(lib: Any, model: AccessModel, rng: np.random.Generator, track: Any, count: int, *,
                    seconds: float | None = None) -> list[Op]:
    """Reads that cannot show `track`: other artists' tracks, albums, listings; playlists without it; pages
    of the whole library in the order tracks were added (the listing a query cache without per-artist reads
    holds) that do not hold the track, its album or its artists.

    Only reads that a cache of the library serves are chosen (another can be neither kept nor dropped; on
    Auralis an uncached artist read took seconds). Each candidate is read once from the database to tell;
    with `seconds`, no candidate is read after that much time (at least one is), so fewer than `count`
    reads may come back."""
    own_artists = {track.artist_id, *(a.id for a in track.featured)}
    others = [a for a in model.artists if a.id not in own_artists]
    skip_playlists = set(lib.repo.playlists_containing([track.id])) if model.playlists else set()
    playlists = [p for p in model.playlists if p not in skip_playlists]
    ops: list[Op] = []
    pages = max(1, model.n_tracks // PAGE)
    for _ in range(count * 3):
        artist = others[min(len(others) - 1, int(rng.zipf(1.6)) - 1)]
        choice = int(rng.integers(9))
        if choice >= 7:  # a page of the library in the order tracks were added: no edit here moves a track in it
            ops.append(("list_tracks", {"sort": "added", "descending": choice == 8, "limit": PAGE,
                                        "offset": int(rng.integers(pages)) * PAGE}))
            continue
        if choice == 0:
            ops.append(("get_track", {"track_id": model.track_id(rng, artist)}))
        elif choice == 1:
            ops.append(("get_album", {"album_id": artist.album_ids[int(rng.integers(len(artist.album_ids)))]}))
        elif choice == 2:
            ops.append(("album_tracks", {"album_id": artist.album_ids[int(rng.integers(len(artist.album_ids)))]}))
        elif choice == 3:
            ops.append(("get_artist", {"artist_id": artist.id}))
        elif choice == 4:
            ops.append(("artist_albums", {"artist_id": artist.id}))
        elif choice == 5:
            ops.append(("list_tracks", {"artist_id": artist.id, "sort": "title", "limit": PAGE}))
        elif playlists:
            ops.append(("get_playlist", {"playlist_id": playlists[int(rng.integers(len(playlists)))]}))
    # tracks of other artists may still appear on the edited track's album (compilations): leave them out
    started, kept = time.monotonic(), []
    cached_reads = {method for method in {op[0] for op in ops} if lib.caches.cache_for(method) is not None}
    for op in distinct(ops):
        if len(kept) >= count or (seconds is not None and kept and time.monotonic() - started > seconds):
            break
        if op[0] in cached_reads and not _touches(lib, op, track):
            kept.append(op)
    return kept


def _touches(lib: Any, op: Op, track: Any) -> bool:
    """True when the read's current result contains the track, its album or one of its artists."""
    result = call(lib.repo, op)
    ids = {("track", track.id), ("album", track.album_id), ("artist", track.artist_id),
           *(("artist", a.id) for a in track.featured)}
    return bool(ids & _entities(result))


def _entities(value: Any, found: set | None = None) -> set:
    """("track" | "album" | "artist", id) of every record in a result, told apart by the record
    protocols' attributes (a track has a path, a playlist tracks, an album a title, an artist a name)."""
    found = set() if found is None else found
    if isinstance(value, Track):
        found.add(("track", value.id))
        for attribute in ("album", "artist"):  # related records a library may attach to its tracks
            related = getattr(value, attribute, None)
            if related is not None and not isinstance(related, (str, int)):
                _entities(related, found)
        for artist in value.featured:
            _entities(artist, found)
        return found
    if isinstance(value, Playlist):
        for track in value.tracks:
            _entities(track, found)
        return found
    if isinstance(value, Album):
        found.add(("album", value.id))
    elif isinstance(value, Artist):
        found.add(("artist", value.id))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _entities(getattr(value, f.name), found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _entities(item, found)
    return found


def selective_survival(lib: Any, model: AccessModel, rng: np.random.Generator, edit: str, *,
                       count: int = 120, seconds: float | None = None) -> SurvivalResult | None:
    """Cache unrelated reads, edit one popular track (tag `edit`: title, genre or year), count survivors.

    With `seconds`, the unrelated reads are gathered for a third of it (each is read about three times:
    to choose it, to cache it, to compare it after the edit)."""
    state = WriteState(step=int(rng.integers(1_000_000)))
    track = alive_track(lib, model, rng, state)
    if track is None:
        return None
    write = _retarget(edit, lib, model, track, state)
    if write is None:
        raise ValueError(f"unknown edit {edit!r}; choose title, genre, year or track_number")
    unrelated = unrelated_reads(lib, model, rng, track, count, seconds=None if seconds is None else seconds / 3)
    possibly = [op for op in distinct(track_reads(lib, track)) if op[0] in QUERY_READS]
    # warm the caches, then keep only what really sits in them now
    for op in unrelated + possibly:
        call(lib.cached, op)
    cached_unrelated = [op for op in unrelated if is_hit(lib, op)]
    cached_possibly = [op for op in possibly if is_hit(lib, op)]
    write.apply(lib.cached)
    tally = StaleTally()
    kept_by_method: dict[str, list[int]] = {}
    dropped: list[str] = []
    kept = 0
    for op in cached_unrelated:
        hit = is_hit(lib, op)
        kept += hit
        row = kept_by_method.setdefault(op[0], [0, 0])
        row[0] += hit
        row[1] += 1
        if not hit and len(dropped) < MAX_EXAMPLES:
            dropped.append(describe_op(op))
        tally.compare(lib, op, after=write.description)
    kept_possibly = sum(is_hit(lib, op) for op in cached_possibly)
    return SurvivalResult(edit=write.description, unrelated_cached=len(cached_unrelated), unrelated_kept=kept,
                          possibly_related_cached=len(cached_possibly), possibly_related_kept=kept_possibly,
                          stale=tally.stale, kept_by_method=kept_by_method, dropped_examples=dropped,
                          stopped_by_budget=len(unrelated) < count and seconds is not None,
                          slowest_read=tally.slowest_read, slowest_read_ms=round(tally.slowest_read_s * 1e3, 3))


def _retarget(edit: str, lib: Any, model: AccessModel, track: Any, state: WriteState) -> Write | None:
    """The write `edit` applied to exactly `track` (make_write picks its own target)."""
    tid = track.id
    if edit == "title":
        title = f"Zéphyr{state.step} {track.title}"
        return Write(edit, f"retitle track {tid}", lambda c: c.update_track(tid, title=title), [])
    if edit == "genre":
        genre = next((g for g in model.genres if g != track.genre), track.genre)
        return Write(edit, f"genre of track {tid} -> {genre}", lambda c: c.update_track(tid, genre=genre), [])
    if edit == "year":
        year = (track.year or 2000) + 1
        return Write(edit, f"year of track {tid} -> {year}", lambda c: c.update_track(tid, year=year), [])
    if edit == "track_number":
        number = (track.track_number or 0) + 1
        return Write(edit, f"track number of {tid} -> {number}",
                     lambda c: c.update_track(tid, track_number=number), [])
    return None


def cascade_reads(lib: Any, artist_id: int) -> tuple[list[Op], dict[str, int]]:
    """Every read that shows the artist, their albums, tracks, featured credits and playlists."""
    repo = lib.repo
    artist = repo.get_artist(artist_id)
    albums = repo.artist_albums(artist_id)
    tracks = list(repo.list_tracks(artist_id=artist_id, sort="title", limit=500).items)
    track_ids = [t.id for t in tracks]
    with_playlists = LibraryFeature.PLAYLISTS in library_features(lib)
    playlists = list(repo.playlists_containing(track_ids)) if track_ids and with_playlists else []
    featuring = [t.id for w in _words(artist.name)[:2] for t in repo.search(w, limit=50)
                 if artist_id in {a.id for a in t.featured}]
    reads: list[Op] = [("get_artist", {"artist_id": artist_id}), ("artist_albums", {"artist_id": artist_id}),
                       ("list_tracks", {"artist_id": artist_id, "sort": "title", "limit": PAGE}),
                       ("count_tracks", {"artist_id": artist_id})]
    for album in albums:
        reads += [("get_album", {"album_id": album.id}), ("album_tracks", {"album_id": album.id})]
    for track in tracks[:40]:
        reads += [("get_track", {"track_id": track.id}), ("get_track_by_path", {"path": track.path})]
    if track_ids:
        reads.append(("get_tracks", {"track_ids": track_ids[:10]}))
    reads += [("get_track", {"track_id": t}) for t in featuring]
    reads += [("search", {"text": w}) for w in _words(artist.name)[:2]]
    reads += [("get_playlist", {"playlist_id": p}) for p in playlists]
    reads += [("list_playlists", {})] if with_playlists else []
    reads += [("count_by_genre", {}), ("count_by_year", {}), ("genres", {}),
              ("list_tracks", {"sort": "artist", "limit": PAGE})]
    counts = {"albums": len(albums), "tracks": len(tracks), "playlists": len(playlists),
              "featured_on": len(featuring)}
    return distinct(reads), counts


def cascade_delete(lib: Any, model: AccessModel, artist: ArtistEntry,
                   rng: np.random.Generator) -> tuple[StaleTally, dict[str, Any]]:
    """Cache everything about an artist, delete the artist through the caches, count stale reads."""
    if lib.repo.get_artist(artist.id) is None:
        return StaleTally(), {"artist": artist.id, "skipped": "already deleted"}
    own = list(lib.repo.list_tracks(artist_id=artist.id, sort="title", limit=6).items)
    if own and model.playlists:  # make sure a playlist holds their tracks among others' (earlier scenarios deleted some tracks)
        pid = lib.cached.create_playlist(f"Mix with {artist.name}")
        others = [t.id for t in (alive_track(lib, model, rng, WriteState()) for _ in range(4)) if t is not None]
        lib.cached.add_to_playlist(pid, [t.id for t in own[:3]] + others)
    reads, counts = cascade_reads(lib, artist.id)
    for op in reads:
        call(lib.cached, op)
    report = lib.cached.delete_artist(artist.id)
    tally = StaleTally()
    for op in reads:
        tally.compare(lib, op, after=f"delete artist {artist.id}")
    removed = {"tracks": len(getattr(report, "tracks", ())), "albums": len(getattr(report, "albums", ())),
               "playlists_touched": len(getattr(report, "playlists", ()))}
    return tally, {"artist": artist.id, "name": artist.name, "reads": len(reads), "stale": tally.stale,
                   **{f"had_{k}": v for k, v in counts.items()}, **{f"removed_{k}": v for k, v in removed.items()}}


__all__ = ["ALL_READS", "FLOAT_REL_TOL", "METADATA_WRITES", "STRUCTURE_WRITES", "StaleTally", "SurvivalResult",
           "Write", "cascade_delete", "cascade_reads", "first_difference", "is_hit", "make_write", "same_result",
           "selective_survival", "stale_sequence", "track_reads", "unrelated_reads"]
