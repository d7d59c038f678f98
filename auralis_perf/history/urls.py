"""Where the history store lives: the default SQLite file, the environment variable, URL hygiene.

A team shares one PostgreSQL database by pointing every machine at the same URL. `postgresql://` and
`postgres://` URLs are taken to mean psycopg 3 (the driver this project installs), so users need not know
SQLAlchemy's `+psycopg` suffix.
"""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

#: Environment variable that overrides the default store (the command line's --history-url wins over it).
HISTORY_URL_ENV = "AURALIS_PERF_HISTORY_URL"
#: File name of the default SQLite store inside the reports folder.
DEFAULT_FILE_NAME = "history.sqlite"


class HistoryError(RuntimeError):
    """The history store cannot be used (bad URL, unreachable server, unreadable file)."""


def default_history_url(reports_dir: str | Path = "reports") -> str:
    """The SQLite file `<reports_dir>/history.sqlite`, as an absolute SQLAlchemy URL."""
    return f"sqlite:///{(Path(reports_dir).resolve() / DEFAULT_FILE_NAME).as_posix()}"


def resolve_history_url(cli_value: str | None = None, *, reports_dir: str | Path = "reports",
                        environ: dict[str, str] | None = None) -> str:
    """The store to use: --history-url, else $AURALIS_PERF_HISTORY_URL, else the default SQLite file.

    A plain file path (no `://`) is accepted and means an SQLite file there.
    """
    environ = os.environ if environ is None else environ
    raw = cli_value or environ.get(HISTORY_URL_ENV) or default_history_url(reports_dir)
    if "://" not in raw:
        raw = f"sqlite:///{Path(raw).resolve().as_posix()}"
    return raw


def parse_url(raw: str | URL) -> URL:
    """A SQLAlchemy URL with PostgreSQL routed to psycopg 3; a clear HistoryError when malformed."""
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise HistoryError(f"history URL {raw!r} is not a SQLAlchemy URL (e.g. sqlite:///reports/history.sqlite "
                           f"or postgresql+psycopg://user:password@host/db): {exc}") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def display_url(url: str | URL) -> str:
    """The URL with any password masked, for messages and reports."""
    try:
        return parse_url(url).render_as_string(hide_password=True)
    except HistoryError:
        return "<malformed URL>"
