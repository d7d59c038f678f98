"""The library benchmark command runs end to end on a small library (figures are not judged here)."""
from __future__ import annotations

import json

from auralis_perf.bench.library import main


def test_library_benchmark_prints_every_figure(tmp_path, capsys):
    out = tmp_path / "figures.json"
    assert main(["--tracks", "1000", "--row-by-row", "50", "--cache-entries", "200", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    figures = {f["name"]: f for f in json.loads(out.read_text())["figures"]}
    for name in ("bulk import of 1,000 tracks", "get a track by id (with album, artist)",
                 "full-text search, top 50 with album and artist", "aggregation by genre",
                 "500 tracks with relations (the repository's listing)", "query-cache hit (lookup of a cached key)",
                 "repository queries with a full scan of tracks"):
        assert name in figures and name in printed
    assert figures["repository queries with a full scan of tracks"]["value"] == 0
    assert figures["500 tracks with relations (the repository's listing)"]["note"] == "1 statement(s)"
    lazy = figures["500 tracks, plain ORM lazy loading (N+1, comparison)"]
    assert int(lazy["note"].split()[0]) > 3  # the N+1 pattern, counted
    assert any(name.startswith("query cache at 200 entries") for name in figures)
