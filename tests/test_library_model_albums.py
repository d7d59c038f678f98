"""The library workload's access model reads an artist's albums from one track per album, never through
`artist_albums` (on Auralis that call joins tracks x genres x albums x album tracks: out of memory at 50k
tracks), and gets the same album ids in the same order as `artist_albums` on the reference library."""
from __future__ import annotations

from auralis_perf.engines import get_engine
from auralis_perf.library_tracks import generate_tracks
from auralis_perf.suites.library_workload.workload import artist_album_ids, build_model


def test_the_model_finds_the_albums_artist_albums_gives_without_calling_it(tmp_path, monkeypatch):
    engine = get_engine("reference")
    lib = engine.open_library(tmp_path / "library.db")
    try:
        generated = generate_tracks(300, seed=3)
        ids = lib.bulk_import(generated)
        new_by_id = dict(zip(ids, generated))
        by_artist: dict[str, list[int]] = {}
        for track_id, new in zip(ids, generated):
            by_artist.setdefault(new.artist, []).append(track_id)
        busiest = sorted(by_artist.values(), key=len, reverse=True)[:5]
        for track_ids in busiest:
            artist_id = lib.repo.get_track(track_ids[0]).artist_id
            expected = [a.id for a in lib.repo.artist_albums(artist_id)]
            assert artist_album_ids(lib.repo, new_by_id, track_ids) == expected and expected

        def refused(*args, **kwargs):
            raise AssertionError("the model asked the library for an artist's albums")

        monkeypatch.setattr(type(lib.repo), "artist_albums", refused)
        model = build_model(lib, generated, ids)
        assert model.artists and all(a.album_ids for a in model.artists)
    finally:
        lib.close()
        engine.close()
