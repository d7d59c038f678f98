"""The library's exceptions: one small hierarchy, every message names the file or the entity."""
from __future__ import annotations

from auralis_perf.engines.base import EngineError


class LibraryError(EngineError):
    """Base of every error the music library raises on purpose."""


class LibraryFileError(LibraryError, OSError):
    """The database file cannot be used: not SQLite, corrupt, or not a library. The file is left untouched."""


class NotALibraryError(LibraryFileError):
    """The file is not an SQLite database, or an SQLite database of another application."""


class CorruptLibraryError(LibraryFileError):
    """The file claims to be SQLite but cannot be read (truncated, malformed pages)."""


class ReadOnlyLocationError(LibraryError, PermissionError):
    """The database file or its folder cannot be written (SQLite's WAL needs both)."""


class NotFoundError(LibraryError, LookupError):
    """A track, album, artist or playlist id that does not exist (only raised by writes)."""


class InvalidQueryError(LibraryError, ValueError):
    """A bad argument to a repository call: unknown sort, negative limit, unknown field, bad cursor."""
