"""The library's repository: reads, search, pagination, aggregations, playlists, writes, plans."""
from __future__ import annotations

import collections

import pytest

from auralis_perf.engines.reference.library import INDEXES, InvalidQueryError, NewTrack, NotFoundError, open_library

N_TRACKS = 700
SORTS = ("title", "artist", "added")


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    """A read-mostly library shared by the tests that do not write."""
    library = open_library(tmp_path_factory.mktemp("lib") / "library.db")
    library.populate(N_TRACKS, seed=3)
    yield library
    library.close()


@pytest.fixture()
def fresh(tmp_path):
    library = open_library(tmp_path / "fresh.db")
    library.populate(200, seed=5)
    yield library
    library.close()


def all_tracks(library):
    return library.repo.get_tracks(range(1, N_TRACKS + 1))


# -- generator and import -------------------------------------------------------------------------

def test_generator_is_deterministic_and_shaped_like_a_library(lib):
    a, b = lib.generate(2000, seed=9), lib.generate(2000, seed=9)
    assert a == b and a != lib.generate(2000, seed=10)
    albums = collections.Counter((t.artist, t.album) for t in a)
    full_albums = list(albums.values())[:-1]  # the last album may be cut short by the track count
    assert full_albums and all(8 <= n <= 15 for n in full_albums)
    per_artist = sorted(collections.Counter(t.artist for t in a).values(), reverse=True)
    assert per_artist[0] > 5 * per_artist[len(per_artist) // 2]  # skewed popularity
    assert any(not t.title.isascii() for t in a)
    assert len({t.path for t in a}) == len(a)
    assert len({t.genre for t in a}) >= 8 and any(t.featured for t in a)


def test_bulk_and_row_by_row_import_store_the_same_rows(tmp_path):
    items = open_library(tmp_path / "gen.db").generate(60, seed=2)
    with open_library(tmp_path / "bulk.db") as bulk, open_library(tmp_path / "rows.db") as rows:
        report_bulk = bulk.import_tracks(items, batch_size=7)
        report_rows = rows.import_tracks_row_by_row(items)
        assert report_bulk.tracks == report_rows.tracks == 60
        assert report_bulk.method == "bulk" and report_rows.method == "row_by_row"
        assert bulk.counts() == rows.counts()
        for track_id in (1, 30, 60):
            a, b = bulk.repo.get_track(track_id), rows.repo.get_track(track_id)
            assert a._replace(added_at=0) == b._replace(added_at=0)
        # FTS was filled by the bulk path's INSERT ... SELECT and by the triggers of the other
        word = items[10].title.split()[0]
        assert [t.id for t in bulk.repo.search(word)] == [t.id for t in rows.repo.search(word)] != []


def test_import_rejects_a_duplicate_path_and_keeps_the_library_unchanged(fresh):
    before = fresh.counts()
    existing = fresh.repo.get_track(1)
    dup = NewTrack(path=existing.path, title="x", artist="y")
    with pytest.raises(InvalidQueryError, match="already in the library"):
        fresh.import_tracks([NewTrack(path="/new/one.flac", title="a", artist="b"), dup])
    with pytest.raises(InvalidQueryError, match="twice"):
        fresh.import_tracks([NewTrack(path="/n.flac", title="a", artist="b")] * 2)
    assert fresh.counts() == before
    assert fresh.repo.search("a") == [] or all(t.path != "/new/one.flac" for t in fresh.repo.search("a"))


# -- reads ----------------------------------------------------------------------------------------

def test_get_by_id_and_path_with_relations(lib):
    track = lib.repo.get_track(42)
    assert track.id == 42 and track.album.id == track.album_id and track.artist.id == track.artist_id
    assert lib.repo.get_track_by_path(track.path) == track
    assert lib.repo.get_track(10**9) is None and lib.repo.get_track_by_path("/nope") is None
    assert [t.id for t in lib.repo.get_tracks([5, 10**9, 3, 5])] == [5, 3, 5]
    album = lib.repo.get_album(track.album_id)
    assert album.artist.id == album.artist_id
    assert track.id in [t.id for t in lib.repo.album_tracks(track.album_id)]
    assert album.id in [a.id for a in lib.repo.artist_albums(album.artist_id)]
    assert lib.repo.get_artist(track.artist_id) == track.artist


def test_featured_artists_come_with_the_track(lib):
    featured = [t for t in all_tracks(lib) if t.featured]
    assert featured, "the generator credits some featured artists"
    track = featured[0]
    assert all(a.id != track.artist_id for a in track.featured)
    assert lib.repo.search(track.featured[0].name.split()[0], limit=N_TRACKS)


def test_title_prefix_is_case_insensitive(lib):
    track = lib.repo.get_track(7)
    prefix = track.title[:2]
    found = lib.repo.find_by_title(prefix.swapcase() if prefix.isascii() else prefix, limit=N_TRACKS)
    assert track.id in [t.id for t in found]
    assert found and all(t.title.lower().startswith(prefix.lower()) for t in found)


# -- listings -------------------------------------------------------------------------------------

@pytest.mark.parametrize("sort", SORTS)
@pytest.mark.parametrize("descending", [False, True])
def test_keyset_pages_walk_the_same_order_as_offset_pages(lib, sort, descending):
    keyset, page = [], lib.repo.list_tracks(sort=sort, descending=descending, limit=97)
    while True:
        keyset += [t.id for t in page.items]
        if page.next_cursor is None:
            break
        page = lib.repo.list_tracks(sort=sort, descending=descending, limit=97, after=page.next_cursor)
    offset = []
    for start in range(0, N_TRACKS, 97):
        offset += [t.id for t in lib.repo.list_tracks(sort=sort, descending=descending, limit=97,
                                                       offset=start).items]
    assert keyset == offset and sorted(keyset) == list(range(1, N_TRACKS + 1))
    middle = lib.repo.cursor_at(350, sort=sort, descending=descending)
    assert [t.id for t in lib.repo.list_tracks(sort=sort, descending=descending, limit=5, after=middle).items] \
        == keyset[350:355]


def test_sort_orders_are_right(lib):
    by_title = [t.title.lower() for t in lib.repo.list_tracks(sort="title", limit=N_TRACKS).items]
    assert by_title == sorted(by_title)  # NOCASE folds ASCII only; generator titles compare the same
    added = [t.added_at for t in lib.repo.list_tracks(sort="added", descending=True, limit=N_TRACKS).items]
    assert added == sorted(added, reverse=True)
    names = [t.artist.name.lower() for t in lib.repo.list_tracks(sort="artist", limit=N_TRACKS).items]
    assert names == sorted(names)


def test_filters_match_a_python_filter(lib):
    every = all_tracks(lib)
    track = every[100]
    cases = [
        ({"favorite": True}, lambda t: t.favorite),
        ({"genre": track.genre}, lambda t: t.genre == track.genre),
        ({"artist_id": track.artist_id}, lambda t: t.artist_id == track.artist_id),
        ({"album_id": track.album_id}, lambda t: t.album_id == track.album_id),
        ({"year_from": track.year - 3, "year_to": track.year}, lambda t: track.year - 3 <= t.year <= track.year),
        ({"added_from": track.added_at - 1e7, "added_to": track.added_at},
         lambda t: track.added_at - 1e7 <= t.added_at <= track.added_at),
        ({"genre": track.genre, "year_from": track.year, "year_to": track.year + 4},
         lambda t: t.genre == track.genre and track.year <= t.year <= track.year + 4),
    ]
    for filters, keep in cases:
        expected = {t.id for t in every if keep(t)}
        got = {t.id for t in lib.repo.list_tracks(limit=N_TRACKS, **filters).items}
        assert got == expected, filters
        assert lib.repo.count_tracks(**filters) == len(expected)


def test_bad_listing_arguments_are_clear_errors(lib):
    page = lib.repo.list_tracks(sort="title", limit=3)
    for kwargs in ({"sort": "bogus"}, {"limit": 0}, {"offset": -1}, {"load": "eager?"},
                   {"sort": "added", "after": page.next_cursor}, {"colour": "red"},
                   {"offset": 3, "after": page.next_cursor}, {"year_from": "1990"}):
        with pytest.raises(InvalidQueryError):
            lib.repo.list_tracks(**{"limit": 3, **kwargs})


@pytest.mark.parametrize("load", ["joined", "selectin", "lazy", "none"])
def test_every_load_mode_returns_the_same_tracks(lib, load):
    joined = lib.repo.list_tracks(sort="title", limit=60)
    page = lib.repo.list_tracks(sort="title", limit=60, load=load)
    if load == "none":
        assert [t.id for t in page.items] == [t.id for t in joined.items]
        assert page.items and all(t.album is None and t.artist is None for t in page.items)
    else:
        assert page == joined


def test_eager_listings_take_at_most_three_statements_for_any_size(lib):
    for limit in (1, 50, 500):
        with lib.statements.count() as joined:
            lib.repo.list_tracks(sort="title", limit=limit)
        with lib.statements.count() as selectin:
            lib.repo.list_tracks(sort="title", limit=limit, load="selectin")
        assert joined.count == 1 and selectin.count <= 3
    with lib.statements.count() as lazy:
        lib.repo.list_tracks(sort="title", limit=200, load="lazy")
    assert lazy.count > 20  # the N+1 pattern the eager paths avoid
    with lib.statements.count() as playlist_read:
        lib.repo.get_playlist(1)
    assert playlist_read.count <= 3


# -- search ---------------------------------------------------------------------------------------

def test_search_finds_words_and_prefixes_ranked_title_first(lib):
    every = all_tracks(lib)
    word = collections.Counter(w.lower() for t in every for w in t.title.split() if w.isalpha() and len(w) > 3).most_common(1)[0][0]
    hits = lib.repo.search(word, limit=N_TRACKS)
    assert hits and all(word in (t.title + " " + t.artist.name + " " + (t.album.title if t.album else "")).lower()
                        for t in hits)
    assert word in hits[0].title.lower()  # title matches outrank album/artist-only matches
    assert {t.id for t in lib.repo.search(word[:3], limit=N_TRACKS)} >= {t.id for t in hits}
    assert lib.repo.search(word[:3], prefix=False, limit=N_TRACKS) != lib.repo.search(word[:3], limit=N_TRACKS)
    assert [t.id for t in lib.repo.search(word, limit=3, offset=2)] == [t.id for t in hits[2:5]]


@pytest.mark.parametrize("text", ['"', '""', "*", "-", "a*b", "NEAR(a b)", "NEAR", "AND OR NOT", "(", ")",
                                  "title:x", "^start", "a + b", "'; DROP TABLE tracks; --", "%_", "\x00abc",
                                  "{title}", "", "   ", "\\", "col:umn \"unterminated"])
def test_search_never_fails_on_fts_syntax(lib, text):
    assert isinstance(lib.repo.search(text), list)


def test_metacharacters_are_stored_and_searched_as_plain_text(fresh):
    title = 'Rock "n" Roll (NEAR live) -remix* AND OR; DROP TABLE tracks; -- 100% _x_'
    artist = "O'Brien \"The\" *Band* NOT"
    new_id = fresh.repo.add_track(NewTrack(path="/m/e'ta \"c\" %_.flac", title=title, artist=artist,
                                           album="Björk: (Live) [δ] 東京 🔥", genre="R&B/Soul"))
    track = fresh.repo.get_track(new_id)
    assert (track.title, track.artist.name, track.album.title) == (title, artist, "Björk: (Live) [δ] 東京 🔥")
    assert fresh.repo.get_track_by_path("/m/e'ta \"c\" %_.flac").id == new_id
    for query in ('"n" roll', "NEAR live", "-remix", "DROP TABLE", "O'Brien", "*band*", "東京", "🔥", "δ",
                  "bjork", "r&b"):
        found = [t.id for t in fresh.repo.search(query, limit=500)]
        if query == "r&b":  # genre is not a searched column
            assert new_id not in found
        else:
            assert new_id in found, query
    assert fresh.repo.list_tracks(genre="R&B/Soul").items[0].id == new_id
    assert fresh.counts()["tracks"] == 201


def test_fts_follows_updates_renames_and_deletes(fresh):
    repo = fresh.repo
    track = repo.get_track(1)
    repo.update_track(1, title="Zyxwv quartz")
    assert [t.id for t in repo.search("zyxwv")] == [1]
    assert 1 not in [t.id for t in repo.search(track.title, prefix=False, limit=500)
                     if t.title == track.title]
    repo.rename_artist(track.artist_id, "Qwertzuiop Ensemble")
    assert 1 in [t.id for t in repo.search("qwertzuiop", limit=500)]
    assert repo.get_track(1).artist.name == "Qwertzuiop Ensemble"
    renamed = repo.list_tracks(sort="artist", artist_id=track.artist_id, limit=500).items
    assert renamed and all(t.artist.name == "Qwertzuiop Ensemble" for t in renamed)
    repo.rename_album(track.album_id, "Plmokn Sessions")
    assert 1 in [t.id for t in repo.search("plmokn", limit=500)]
    other = repo.add_track(NewTrack(path="/x/feat.flac", title="Featuring test", artist="Main Person",
                                    featured=("Guest Starr",)))
    assert [t.id for t in repo.search("starr")] == [other]
    repo.delete_track(1)
    assert repo.search("zyxwv") == [] and repo.get_track(1) is None
    report = repo.delete_artist(repo.get_track(other).featured[0].id)
    assert report.touched_tracks == (other,)
    assert repo.search("starr") == [] and repo.get_track(other).featured == ()


# -- aggregations, playlists, writes ----------------------------------------------------------------

def test_aggregations_match_python(lib):
    every = all_tracks(lib)
    by_genre = collections.defaultdict(lambda: [0, 0.0])
    by_year = collections.defaultdict(lambda: [0, 0.0])
    for t in every:
        by_genre[t.genre][0] += 1
        by_genre[t.genre][1] += t.duration
        by_year[t.year][0] += 1
        by_year[t.year][1] += t.duration
    assert {g.key: (g.tracks, round(g.duration, 6)) for g in lib.repo.count_by_genre()} == \
        {k: (v[0], round(v[1], 6)) for k, v in by_genre.items()}
    assert [g.key for g in lib.repo.count_by_year()] == sorted(by_year)
    assert sum(g.tracks for g in lib.repo.count_by_year()) == N_TRACKS
    assert lib.repo.genres() == sorted(by_genre)


def test_playlists_keep_order_through_add_move_remove(fresh):
    repo = fresh.repo
    pid = repo.create_playlist("Road trip ☀")
    repo.add_to_playlist(pid, [5, 6, 7])
    repo.add_to_playlist(pid, [9], at=1)
    repo.add_to_playlist(pid, [5])  # a track may appear twice
    assert [t.id for t in repo.get_playlist(pid).tracks] == [5, 9, 6, 7, 5]
    repo.move_in_playlist(pid, 0, 3)
    assert [t.id for t in repo.get_playlist(pid).tracks] == [9, 6, 7, 5, 5]
    repo.remove_from_playlist(pid, 1)
    assert [t.id for t in repo.get_playlist(pid).tracks] == [9, 7, 5, 5]
    summary = [p for p in repo.list_playlists() if p.id == pid][0]
    durations = sum(repo.get_track(i).duration for i in (9, 7, 5, 5))
    assert summary.track_count == 4 and summary.duration == pytest.approx(durations)
    assert repo.playlists_containing([7, 100]) == [pid]
    report = repo.delete_track(5)
    assert report.playlists == (pid,)
    assert [t.id for t in repo.get_playlist(pid).tracks] == [9, 7]
    repo.rename_playlist(pid, "Renamed")
    assert repo.get_playlist(pid).name == "Renamed"
    for bad in (lambda: repo.move_in_playlist(pid, 0, 5), lambda: repo.add_to_playlist(pid, [1], at=9)):
        with pytest.raises(InvalidQueryError):
            bad()
    with pytest.raises(NotFoundError):
        repo.add_to_playlist(pid, [10**6])
    repo.delete_playlist(pid)
    assert repo.get_playlist(pid) is None
    with pytest.raises(NotFoundError):
        repo.delete_playlist(pid)


def test_updates_and_their_errors(fresh):
    repo = fresh.repo
    repo.update_track(3, genre="Ambient", year=1999, track_number=4)
    repo.set_favorite(3, True)
    repo.record_play(3, at=123.0)
    repo.record_play(3, at=456.0)
    track = repo.get_track(3)
    assert (track.genre, track.year, track.track_number, track.favorite) == ("Ambient", 1999, 4, True)
    assert (track.play_count, track.last_played) == (repo.get_track(4).play_count * 0 + track.play_count, 456.0)
    with pytest.raises(NotFoundError):
        repo.update_track(10**6, title="x")
    with pytest.raises(InvalidQueryError):
        repo.update_track(3, colour="red")
    with pytest.raises(InvalidQueryError):
        repo.update_track(3, year="1999")
    with pytest.raises(InvalidQueryError):
        repo.update_track(3, title="bad \ud800 surrogate")
    with pytest.raises(InvalidQueryError):
        repo.update_track(3, path=repo.get_track(4).path)  # paths are unique
    with pytest.raises(InvalidQueryError):
        repo.rename_artist(repo.get_track(3).artist_id, repo.get_track(150).artist.name) \
            if repo.get_track(3).artist_id != repo.get_track(150).artist_id else repo.update_track(3, colour=1)


def test_deleting_an_artist_cascades(fresh):
    repo = fresh.repo
    victim = repo.get_track(20)
    albums = [a.id for a in repo.artist_albums(victim.artist_id)]
    own = {t.id for t in repo.list_tracks(artist_id=victim.artist_id, limit=500).items}
    on_albums = {t.id for a in albums for t in repo.album_tracks(a)}
    pid = repo.create_playlist("p")
    repo.add_to_playlist(pid, [victim.id, 1 if 1 not in own | on_albums else 2])
    report = repo.delete_artist(victim.artist_id)
    assert set(report.tracks) == own | on_albums and set(report.albums) == set(albums)
    assert report.artists == (victim.artist_id,) and report.playlists == (pid,)
    assert repo.get_artist(victim.artist_id) is None
    assert albums and all(repo.get_album(a) is None for a in albums)
    assert repo.get_tracks(list(own)) == []
    assert len(repo.get_playlist(pid).tracks) == 1
    assert fresh.counts()["tracks"] == 200 - len(own | on_albums)
    with pytest.raises(NotFoundError):
        repo.delete_artist(victim.artist_id)


# -- plans ----------------------------------------------------------------------------------------

def test_every_repository_query_uses_an_index_and_no_full_scan_of_tracks(lib):
    pid = lib.repo.create_playlist("plans")
    lib.repo.add_to_playlist(pid, [1, 2, 3])
    plans = lib.explain_repository()
    assert len(plans) >= 30
    for name, query_plans in plans.items():
        assert query_plans, name
        for plan in query_plans:
            assert "tracks" not in plan.full_scans, (name, plan.text)
            if "tracks" in plan.sql and "FROM playlists" not in plan.sql:
                assert plan.uses_index(), (name, plan.text)
    issued = lib.explain_issued()
    assert issued and not [p.text for p in issued if "tracks" in p.full_scans]
    lib.repo.delete_playlist(pid)


@pytest.mark.parametrize("role, query", [
    ("title", lambda r: r.find_by_title("Lo")),
    ("added", lambda r: r.list_tracks(sort="added", added_from=1.5e9, added_to=1.6e9)),
    ("favorite", lambda r: r.list_tracks(sort="added", descending=True, favorite=True)),
    ("composite", lambda r: r.list_tracks(sort="added", genre="Rock", year_from=1990, year_to=1995)),
])
def test_named_indexes_serve_their_queries_and_can_be_dropped_for_comparison(lib, role, query):
    index = INDEXES[role]
    plans = lib.plans(query, lib.repo)
    assert any(p.uses_index(index) for p in plans), [p.text for p in plans]
    expected = query(lib.repo)
    with lib.without_index(index) as bare:
        bare_plans = bare.plans(query, bare)
        assert not any(p.uses_index(index) for p in bare_plans)
        assert query(bare) == expected
    assert index in lib.indexes() and any(p.uses_index(index) for p in lib.plans(query, lib.repo))
    with pytest.raises(InvalidQueryError):
        with lib.without_index("no_such_index"):
            pass
