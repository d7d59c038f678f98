"""A folder scanner: reads real audio files (soundfile for the format, mutagen for the tags) and rescans
incrementally, comparing each file's size and mtime with what the library stored."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import soundfile as sf
from sqlalchemy import select

from auralis_perf.engines.reference.library.errors import LibraryError
from auralis_perf.engines.reference.library.records import NewTrack, ScanError, ScanReport
from auralis_perf.engines.reference.library.repository import Repository
from auralis_perf.engines.reference.library.schema import tracks

#: Extensions tried; a file libsndfile cannot open is reported in ScanReport.errors, not raised.
AUDIO_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".aifc", ".mp3",
                              ".opus", ".caf", ".w64", ".au"})
UNKNOWN_ARTIST = "Unknown Artist"


def _first(tags: Any, *names: str) -> str | None:
    for name in names:
        try:
            values = tags.get(name) if tags is not None else None
        except (KeyError, ValueError):
            values = None
        if values:
            value = values[0] if isinstance(values, list) else values
            text = str(value).strip()
            if text:
                return text
    return None


def _leading_int(text: str | None) -> int | None:
    digits = ""
    for ch in (text or "").strip():
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else None


def read_track(path: Path, stat: os.stat_result) -> NewTrack:
    """The NewTrack of an audio file; tags fall back to the file and folder names."""
    info = sf.info(str(path))
    tags = None
    try:
        import mutagen
        tagged = mutagen.File(str(path), easy=True)
        tags = tagged.tags if tagged is not None else None
    except Exception:  # noqa: BLE001 - a broken tag block must not hide the audio itself
        tags = None
    year = _leading_int(_first(tags, "date", "year"))
    return NewTrack(
        path=str(path), title=_first(tags, "title") or path.stem,
        artist=_first(tags, "artist", "albumartist") or UNKNOWN_ARTIST,
        album=_first(tags, "album"), genre=_first(tags, "genre"), year=year,
        track_number=_leading_int(_first(tags, "tracknumber")),
        duration=float(info.frames) / info.samplerate if info.samplerate else 0.0,
        sample_rate=int(info.samplerate), channels=int(info.channels), format=str(info.format).lower(),
        file_size=stat.st_size, mtime=stat.st_mtime)


def _on_disk(folder: Path) -> dict[str, os.stat_result]:
    found: dict[str, os.stat_result] = {}
    for directory, subdirs, files in os.walk(folder):
        subdirs.sort()
        for name in sorted(files):
            if os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                full = os.path.join(directory, name)
                try:
                    found[full] = os.stat(full)
                except OSError:
                    continue  # vanished between listing and stat: it is simply not there
    return found


def scan_folder(folder: str | os.PathLike[str], *, db: Any, cached: Any,
                import_tracks: Callable[[list[NewTrack]], Any], audio_cache: Any = None) -> ScanReport:
    """Scan `folder` into the library. `cached` is the CachedRepository (writes invalidate caches);
    `import_tracks` bulk-imports the new files. Returns what was added, changed and removed."""
    start = time.perf_counter()
    root = Path(os.fspath(folder)).expanduser().resolve()
    if not root.is_dir():
        raise LibraryError(f"cannot scan {root}: not a folder")
    prefix = str(root) + os.sep
    upper = prefix[:-1] + chr(ord(os.sep) + 1)
    with db.read() as conn:  # a range on the unique path index
        stored = {row[0]: (row[1], row[2], row[3]) for row in conn.execute(
            select(tracks.c.path, tracks.c.id, tracks.c.file_size, tracks.c.mtime)
            .where(tracks.c.path >= prefix, tracks.c.path < upper))}
    disk = _on_disk(root)
    added: list[NewTrack] = []
    changed: list[str] = []
    errors: list[ScanError] = []
    unchanged = 0
    for path, stat in disk.items():
        known = stored.get(path)
        if known is not None and known[1] == stat.st_size and known[2] == stat.st_mtime:
            unchanged += 1
            continue
        try:
            new = read_track(Path(path), stat)
        except Exception as exc:  # noqa: BLE001 - one unreadable file is reported, the scan goes on
            errors.append(ScanError(path, f"{type(exc).__name__}: {exc}"))
            continue
        if known is None:
            added.append(new)
        else:
            _update(db, cached, known[0], new)
            changed.append(path)
    if changed:
        cached.tracks_added()  # a changed file may have brought a new artist or album
    removed = sorted(path for path in stored if path not in disk)
    if removed:
        cached.delete_tracks([stored[path][0] for path in removed])
    if added:
        import_tracks(added)
    report = ScanReport(folder=str(root), added=tuple(t.path for t in added), changed=tuple(changed),
                        removed=tuple(removed), unchanged=unchanged, errors=tuple(errors),
                        seconds=time.perf_counter() - start)
    if audio_cache is not None:
        audio_cache.apply_scan(report)
    return report


def _update(db: Any, cached: Any, track_id: int, new: NewTrack) -> None:
    with db.write() as conn:
        artist_id = Repository.ensure_artist(conn, new.artist)
        album_id = None if new.album is None else Repository.ensure_album(conn, artist_id, new.album, new.year)
    cached.update_track(track_id, title=new.title, artist_id=artist_id, album_id=album_id, genre=new.genre,
                        year=new.year, track_number=new.track_number, duration=new.duration,
                        sample_rate=new.sample_rate, channels=new.channels, format=new.format,
                        file_size=new.file_size, mtime=new.mtime)
