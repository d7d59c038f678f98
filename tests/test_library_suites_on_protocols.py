"""The cache and database suites reach the library only through its protocols: replayed against a strict
double that exposes nothing but the members of MusicLibrary, LibraryRepository, LibraryCaches and
KeyValueCache (any other attribute raises), every check still gives a record, measured (pass or fail)
or skipped for a capability the double does not declare, never an error. Tiny libraries."""
from __future__ import annotations

from typing import Any, Protocol

import pytest
from suite_support import category_records, shrunk_smoke_sizes

from auralis_perf.catalog import load_catalog
from auralis_perf.engines import (
    Capability,
    Engine,
    KeyValueCache,
    LibraryCaches,
    LibraryRepository,
    MusicLibrary,
    NotSupported,
    get_engine,
)
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.cache import groups as cache_groups
from auralis_perf.suites.database import groups as database_groups
from auralis_perf.suites.library_workload import workload
from auralis_perf.suites.library_workload.workload import release_libraries


def protocol_members(protocol: type) -> frozenset[str]:
    """The public members a protocol declares (methods, properties, annotations), its bases' included."""
    names: set[str] = set()
    for cls in protocol.__mro__:
        if cls in (object, Protocol) or not getattr(cls, "_is_protocol", False):
            continue
        names |= {n for n in vars(cls) if not n.startswith("_") or n == "__getitem__"}
        names |= set(getattr(cls, "__annotations__", {}))
    return frozenset(names)


#: What the protocol members return that is itself a protocol object (wrapped strictly in turn).
WRAPPED = {(MusicLibrary, "repo"): LibraryRepository, (MusicLibrary, "cached"): LibraryRepository,
           (MusicLibrary, "caches"): LibraryCaches, (LibraryCaches, "__getitem__"): KeyValueCache}


class Strict:
    """Exposes `target` through `protocol` only: any other attribute raises AttributeError."""

    def __init__(self, target: Any, protocol: type) -> None:
        object.__setattr__(self, "strict_target", target)
        object.__setattr__(self, "strict_protocol", protocol)
        object.__setattr__(self, "strict_members", protocol_members(protocol))

    def __getattr__(self, name: str) -> Any:
        protocol = object.__getattribute__(self, "strict_protocol")
        if name not in object.__getattribute__(self, "strict_members"):
            raise AttributeError(f"{name!r} is not part of {protocol.__name__}: the harness must not use it")
        value = getattr(object.__getattribute__(self, "strict_target"), name)
        wrapped = WRAPPED.get((protocol, name))
        return Strict(value, wrapped) if wrapped is not None else value

    def __getitem__(self, key: Any) -> Any:
        protocol = object.__getattribute__(self, "strict_protocol")
        if "__getitem__" not in object.__getattribute__(self, "strict_members"):
            raise TypeError(f"{protocol.__name__} is not subscriptable")
        value = object.__getattribute__(self, "strict_target")[key]
        wrapped = WRAPPED.get((protocol, "__getitem__"))
        return Strict(value, wrapped) if wrapped is not None else value


def test_the_strict_double_refuses_what_the_protocols_do_not_name(tmp_path):
    engine = get_engine("reference")
    lib = engine.open_library(tmp_path / "strict.db")
    try:
        strict = Strict(lib, MusicLibrary)
        assert isinstance(strict, MusicLibrary) and isinstance(strict.repo, LibraryRepository)
        assert isinstance(strict.caches[strict.caches.names()[0]], KeyValueCache)
        for internal in ("statements", "pool", "plans", "without_index", "explain_issued", "generate"):
            with pytest.raises(AttributeError, match="not part of MusicLibrary"):
                getattr(strict, internal)
        with pytest.raises(AttributeError, match="not part of LibraryCaches"):
            strict.caches.query  # noqa: B018  (the reference's own attribute, not the protocol's)
        with pytest.raises(AttributeError, match="not part of KeyValueCache"):
            strict.caches["query"].make_key  # noqa: B018
    finally:
        lib.close()
        engine.close()


class StrictLibraryEngine(Engine):
    """An engine with only the library capability, whose libraries are the reference's behind Strict."""

    name = "strict-library"
    capabilities = frozenset({Capability.MASTER, Capability.STREAM, Capability.LIBRARY})

    def __init__(self) -> None:
        self.reference = get_engine("reference")

    def master(self, audio, sample_rate, preset="default", *, optimized=True):
        raise NotSupported("the strict library double does not master audio")

    def stream(self, source, *, sample_rate=None, chunk_size=4096, preset="default"):
        raise NotSupported("the strict library double does not stream audio")

    def open_library(self, path, **options):
        return Strict(self.reference.open_library(path, **options), MusicLibrary)

    def close(self) -> None:
        self.reference.close()


#: Tiny sizes: the point is which members the suites touch, not the figures.
TINY = {workload: {"main": 300, "scaling": (100, 200, 300)},
        cache_groups: {"replay": 300, "hot_calls": 20, "entity_replay": 200, "entity_rounds": 1, "stale_steps": 10,
                       "fill_budget": 200, "fill_rounds": 1, "lru_accesses": 300, "selective_edits": 1,
                       "cascade_artists": 1},
        database_groups: {"depths": (0.0, 0.3, 0.6), "listing": 100, "load_rounds": 1, "bulk_rows": 200,
                          "row_rows": 20, "import_rounds": 1, "pool_rounds": 1, "pool_reads": 5}}
#: The checks that need the audio cache, which the double does not declare.
AUDIO_CACHE_CHECKS = {"CACHE-11", "CACHE-12", "CACHE-13", "CACHE-14", "CACHE-15", "CACHE-17", "CACHE-18"}


@pytest.mark.parametrize("category", ["cache", "database"])
def test_every_check_runs_on_the_protocols_alone(category, tmp_path):
    engine = StrictLibraryEngine()
    ctx = SuiteContext(engine=engine, profile="smoke", workdir=tmp_path)
    try:
        with shrunk_smoke_sizes(TINY):
            records = category_records(ctx, category)
    finally:
        release_libraries(ctx)
        engine.close()
    assert sorted(records) == load_catalog().ids(category)
    problems = {}
    for check_id, r in records.items():
        if check_id in AUDIO_CACHE_CHECKS:
            if r.status != "skip" or "audio_cache" not in (r.reason or ""):
                problems[check_id] = (r.status, r.reason)
        elif r.status not in ("pass", "fail") or r.value is None:
            problems[check_id] = (r.status, r.reason, r.details.get("traceback", "")[-600:])
    assert not problems, problems
