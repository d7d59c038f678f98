"""A deterministic generator of realistic synthetic music libraries (the tracks the library checks store).

The harness generates the tracks and hands them to an engine's library (`MusicLibrary.bulk_import`,
`add_track`), as it generates test audio (`auralis_perf.signals`): every engine stores the same library.

Realistic here means the shapes that matter for queries and caches: a few artists own most of the
tracks (Zipf-like popularity), albums hold 8 to 15 tracks, genres and years are skewed, a few tracks
credit a featured artist, titles mix scripts (Latin with accents, Cyrillic, Greek, CJK, emoji) and
words follow a skewed frequency so that searches range from rare to common. The same seed always gives
the same library; times are fixed offsets from a fixed epoch, never "now".
"""
from __future__ import annotations

import itertools
import random

from auralis_perf.engines.protocols.library import NewTrack

#: 2023-11-14 22:13:20 UTC: a fixed "now" so that libraries are reproducible.
EPOCH = 1_700_000_000.0

WORDS = (
    "love night river fire dream light heart city rain blue gold shadow summer echo ocean stone wild "
    "silver moon road home time world star girl boy dance song sun storm winter glass paper wire ghost "
    "garden mirror crown velvet neon thunder honey broken electric midnight morning golden lonely "
    "falling rising secret hidden distant forever never always tonight yesterday tomorrow"
).split() + [
    "café", "naïve", "señorita", "über", "fjäll", "øresund", "crème", "déjà", "façade", "jalapeño",
    "ночь", "звезда", "любовь", "город", "θάλασσα", "φως", "夜", "東京", "さくら", "月光", "音乐", "天空",
    "사랑", "별", "قمر", "שלום", "🔥", "🌙", "✨",
]
def _pseudo_words(count: int) -> list[str]:
    """Made-up but pronounceable words; a fixed list (independent of the seed) so names stay stable."""
    rng = random.Random(7)
    syllables = "ka lo mi ra ne so tu vi el an or is da fe gu ho ja ly ma no pe ri sa te un ve wo ya ze".split()
    found: dict[str, None] = {}
    while len(found) < count:
        found["".join(rng.choice(syllables) for _ in range(rng.choice((2, 2, 3))))] = None
    return list(found)


def _vocabulary() -> list[str]:
    """Real words first (the most frequent ranks), then the rest of the real and made-up words mixed."""
    tail = WORDS[20:] + _pseudo_words(1400)
    random.Random(11).shuffle(tail)
    return WORDS[:20] + tail


NAME_PARTS = (
    "the velvet neon paper crystal midnight silver golden electric broken wild lonely distant "
    "owls tigers rivers ghosts mirrors engines lights hearts wolves foxes horses pilots sailors "
    "orchestra collective quartet trio band project society club"
).split() + ["Åsa", "Zoë", "Björk", "Ólafur", "Давид", "美咲", "Renée", "José"]
GENRES = ("Rock", "Pop", "Electronic", "Hip-Hop", "Jazz", "Classical", "Folk", "Metal", "R&B", "Soul",
          "Blues", "Country", "Reggae", "Ambient", "Punk", "Indie", "Latin", "Funk", "World", "Soundtrack")
FORMATS = (("flac", 0.45, 900_000), ("mp3", 0.35, 320_000), ("ogg", 0.1, 192_000), ("wav", 0.1, 1_411_200))


def _zipf_weights(n: int, exponent: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank ** exponent) for rank in range(1, n + 1)))


class _Names:
    """Unique names from word combinations, with a numeral on the rare collision."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def make(self, parts: list[str] | tuple[str, ...], words: int) -> str:
        base = " ".join(self._rng.choice(parts) for _ in range(words)).title()
        name, n = base, 1
        while name in self._used:
            n += 1
            name = f"{base} {n}"
        self._used.add(name)
        return name


def generate_tracks(n_tracks: int, *, seed: int = 0, root: str = "/music") -> list[NewTrack]:
    """`n_tracks` NewTrack records, identical for the same (n_tracks, seed, root)."""
    if not isinstance(n_tracks, int) or n_tracks < 0:
        raise ValueError(f"n_tracks must be a non-negative int, not {n_tracks!r}")
    rng = random.Random(seed)
    artist_names = _Names(rng)
    n_artists = max(1, n_tracks // 40)
    name_parts = NAME_PARTS + _pseudo_words(600)[200:]
    artists = [artist_names.make(name_parts, rng.choice((1, 2, 2, 3))) for _ in range(n_artists)]
    artist_genre = [rng.choices(GENRES, cum_weights=_zipf_weights(len(GENRES), 0.9))[0] for _ in artists]
    artist_era = [rng.randint(1960, 2020) for _ in artists]
    artist_cum = _zipf_weights(n_artists, 0.8)
    vocabulary = _vocabulary()
    word_cum = _zipf_weights(len(vocabulary), 0.6)
    format_cum = list(itertools.accumulate(share for _, share, _ in FORMATS))
    album_titles: dict[int, set[str]] = {}

    tracks: list[NewTrack] = []
    album_number = 0
    while len(tracks) < n_tracks:
        artist_index = rng.choices(range(n_artists), cum_weights=artist_cum)[0]
        artist = artists[artist_index]
        album_number += 1
        titles = album_titles.setdefault(artist_index, set())
        album = " ".join(rng.choices(vocabulary, cum_weights=word_cum, k=rng.randint(1, 3))).capitalize()
        if album in titles:
            album = f"{album} (Vol. {len(titles) + 1})"
        titles.add(album)
        year = min(2024, artist_era[artist_index] + int(rng.expovariate(1 / 6)))
        genre = artist_genre[artist_index] if rng.random() < 0.85 else rng.choice(GENRES)
        fmt, _, bitrate = FORMATS[rng.choices(range(len(FORMATS)), cum_weights=format_cum)[0]]
        sample_rate = rng.choices((44100, 48000, 96000), weights=(0.8, 0.15, 0.05))[0]
        added = EPOCH - rng.uniform(0, 5 * 365 * 86400)
        folder = f"{root}/{artist}/{album} ({year}) #{album_number}"
        for number in range(1, min(rng.randint(8, 15), n_tracks - len(tracks)) + 1):
            title = " ".join(rng.choices(vocabulary, cum_weights=word_cum, k=rng.randint(1, 4))).capitalize()
            duration = round(min(900.0, max(30.0, rng.gauss(230.0, 60.0))), 3)
            plays = int(rng.paretovariate(1.5)) - 1
            featured = ()
            if rng.random() < 0.06:
                other = artists[rng.choices(range(n_artists), cum_weights=artist_cum)[0]]
                featured = (other,) if other != artist else ()
            tracks.append(NewTrack(
                path=f"{folder}/{number:02d} {title}.{fmt}", title=title, artist=artist, album=album,
                genre=genre, year=year, track_number=number, duration=duration, sample_rate=sample_rate,
                channels=2 if rng.random() < 0.95 else 1, format=fmt,
                file_size=int(duration * bitrate / 8), mtime=added - rng.uniform(0, 86400),
                favorite=rng.random() < 0.05, play_count=plays,
                last_played=EPOCH - rng.uniform(0, 90 * 86400) if plays else None,
                added_at=added + number, featured=featured))
    return tracks
