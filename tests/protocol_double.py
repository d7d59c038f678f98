"""A strict double: an engine that exposes nothing but the typed protocols of `auralis_perf.engines`.

`StrictEngine(inner)` forwards what the protocols name to a real engine and raises AttributeError for
anything else, on the engine and on every object it hands out (streams, playback sessions, job queues,
audio caches, utilities). Each refused name is also logged in `blocked`, so a suite that swallows the
AttributeError (hasattr, getattr with a default) is still caught.

The music library (`open_library`) is passed through unwrapped: its protocol is the library's own.
"""
from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

from auralis_perf.engines import AudioCache, AudioUtilities, Engine, JobQueue, PlaybackSession, Stream

#: Special methods a protocol may name; looked up on the type, so the proxy defines them itself.
_SPECIAL = ("__iter__", "__enter__", "__exit__")


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


class StrictProxy:
    """Forward the `allowed` names of `inner`; refuse (and log in `blocked`) every other one."""

    def __init__(self, inner: Any, allowed: frozenset[str], what: str, blocked: list[str]) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_allowed", allowed)
        object.__setattr__(self, "_what", what)
        object.__setattr__(self, "_blocked", blocked)

    def __getattr__(self, name: str) -> Any:
        if name not in self._allowed:
            self._blocked.append(f"{self._what}.{name}")
            raise Refused(f"strict double: {self._what}.{name} is not part of the typed protocols")
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._blocked.append(f"{self._what}.{name} (set)")
        raise Refused(f"strict double: setting {self._what}.{name} is not part of the typed protocols")

    def __iter__(self) -> Iterator[Any]:
        if "__iter__" not in self._allowed:
            self.__getattr__("__iter__")
        return iter(self._inner)

    def __enter__(self) -> StrictProxy:
        if "__enter__" not in self._allowed:
            self.__getattr__("__enter__")
        self._inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inner.__exit__(*exc)


class StrictEngine(StrictProxy):
    """The engine protocol of `inner` and nothing else; objects it returns are strict proxies too."""

    _RETURNS = {"stream": Stream, "open_playback": PlaybackSession, "job_queue": JobQueue,
                "open_audio_cache": AudioCache}

    def __init__(self, inner: Engine) -> None:
        super().__init__(inner, protocol_members(Engine), "engine", [])

    @property
    def blocked(self) -> list[str]:
        return self._blocked

    def __getattr__(self, name: str) -> Any:
        value = super().__getattr__(name)
        if name == "utilities" and value is not None:
            return StrictProxy(value, protocol_members(AudioUtilities), "utilities", self._blocked)
        if name in self._RETURNS:
            protocol = self._RETURNS[name]
            members = protocol_members(protocol)

            def call(*args: Any, **kwargs: Any) -> Any:
                return StrictProxy(value(*args, **kwargs), members, protocol.__name__, self._blocked)
            return call
        return value


def assert_protocols_only(records: Any, engine: StrictEngine) -> None:
    """No record is an `error` caused by a refused attribute, and the double refused nothing at all."""
    values = records.values() if hasattr(records, "values") else records
    refused = {r.id: r.reason for r in values
               if r.status == "error" and ("strict double" in (r.reason or "") or "AttributeError" in (r.reason or ""))}
    assert not refused, f"checks that used more than the typed protocols: {refused}"
    assert not engine.blocked, f"names outside the typed protocols were asked for: {engine.blocked}"
