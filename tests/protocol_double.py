"""A strict double: an engine that exposes nothing but the typed protocols of `auralis_perf.engines`.

`StrictEngine(inner)` forwards what the protocols name to a real engine and raises AttributeError for
anything else, on the engine and on every object it hands out (streams, playback sessions, job queues,
audio caches, utilities, the music library with its repositories and caches). Each refused name is also
logged in `blocked`, so a suite that swallows the AttributeError (hasattr, getattr with a default) is
still caught. Records a library returns (tracks, albums, pages) are passed through: they are values.
"""
from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

from auralis_perf.engines import AudioCache, AudioUtilities, Engine, JobQueue, PlaybackSession, Stream
from auralis_perf.engines.protocols.library import KeyValueCache, LibraryCaches, LibraryRepository, MusicLibrary

#: Special methods a protocol may name; looked up on the type, so the proxy defines them itself.
_SPECIAL = ("__iter__", "__enter__", "__exit__", "__getitem__")

#: For each protocol, the members whose value (or whose call's result) is an object of another protocol.
WRAPS: dict[type, dict[str, type]] = {
    Engine: {"stream": Stream, "open_playback": PlaybackSession, "job_queue": JobQueue,
             "open_audio_cache": AudioCache, "utilities": AudioUtilities, "open_library": MusicLibrary},
    MusicLibrary: {"repo": LibraryRepository, "cached": LibraryRepository, "caches": LibraryCaches},
    # a library cache may be a KeyValueCache (an optional extension of QueryCache): its members are allowed
    LibraryCaches: {"__getitem__": KeyValueCache},
}


def protocol_members(protocol: type) -> frozenset[str]:
    """Public names a protocol (or the Engine base) declares, through its bases: methods, properties,
    attributes (annotations), and the special methods in `_SPECIAL`."""
    names: set[str] = set()
    for cls in protocol.__mro__:
        if cls in (object, typing.Protocol, typing.Generic) or cls.__module__ in ("abc", "typing"):
            continue
        names.update(n for n in vars(cls) if not n.startswith("_") or n in _SPECIAL)
        names.update(n for n in getattr(cls, "__annotations__", {}) if not n.startswith("_"))
    return frozenset(names)


class Refused(AttributeError):
    """A name outside the protocols."""


def strict(inner: Any, protocol: type, blocked: list[str]) -> Any:
    """`inner` seen through `protocol` (None stays None)."""
    return None if inner is None else StrictProxy(inner, protocol, blocked)


class StrictProxy:
    """Forward the members of `protocol` to `inner`; refuse (and log in `blocked`) every other name."""

    def __init__(self, inner: Any, protocol: type, blocked: list[str]) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_protocol", protocol)
        object.__setattr__(self, "_allowed", protocol_members(protocol))
        object.__setattr__(self, "_blocked", blocked)

    def _refuse(self, name: str) -> None:
        self._blocked.append(f"{self._protocol.__name__}.{name}")
        raise Refused(f"strict double: {self._protocol.__name__}.{name} is not part of the typed protocols")

    def _wrapped(self, name: str, value: Any) -> Any:
        target = WRAPS.get(self._protocol, {}).get(name)
        if target is None:
            return value
        if callable(value) and not isinstance(value, type) and name != "utilities":
            return lambda *args, **kwargs: strict(value(*args, **kwargs), target, self._blocked)
        return strict(value, target, self._blocked)

    def __getattr__(self, name: str) -> Any:
        if name not in self._allowed:
            self._refuse(name)
        return self._wrapped(name, getattr(self._inner, name))

    def __setattr__(self, name: str, value: Any) -> None:
        self._refuse(f"{name} (set)")

    def __iter__(self) -> Iterator[Any]:
        if "__iter__" not in self._allowed:
            self._refuse("__iter__")
        return iter(self._inner)

    def __getitem__(self, key: Any) -> Any:
        if "__getitem__" not in self._allowed:
            self._refuse("__getitem__")
        return self._wrapped("__getitem__", self._inner[key])

    def __enter__(self) -> StrictProxy:
        if "__enter__" not in self._allowed:
            self._refuse("__enter__")
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)


class StrictEngine(StrictProxy):
    """The engine protocol of `inner` and nothing else; what it hands out is seen through its protocol."""

    def __init__(self, inner: Engine) -> None:
        super().__init__(inner, Engine, [])

    @property
    def blocked(self) -> list[str]:
        return self._blocked


def assert_protocols_only(records: Any, engine: StrictEngine) -> None:
    """No record is an `error` caused by a refused attribute, and the double refused nothing at all."""
    values = records.values() if hasattr(records, "values") else records
    refused = {r.id: r.reason for r in values
               if r.status == "error" and ("strict double" in (r.reason or "") or "AttributeError" in (r.reason or ""))}
    assert not refused, f"checks that used more than the typed protocols: {refused}"
    assert not engine.blocked, f"names outside the typed protocols were asked for: {engine.blocked}"
