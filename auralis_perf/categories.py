"""The five categories of the catalogue, in one place: every part that names a category reads it here.

The catalogue (ID prefixes), the suites (which module registers a category's groups), the report (section
titles), the notebook template (file stem and introduction) and the command line (`--categories`) all
derive their tables from `CATEGORIES`, in this order, which is also the order of the report.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    name: str          # as in catalog.toml and results.json: "realtime"
    prefix: str        # of its check IDs: "RT" for RT-01..RT-20
    title: str         # the report's section title
    stem: str          # its notebook: notebooks/<stem>.ipynb
    suite_module: str  # the module that registers its groups (`auralis_perf.suites.group`)
    intro: str         # the first paragraph of its notebook


CATEGORIES: tuple[Category, ...] = (
    Category(
        "realtime", "RT", "Real-time processing", "01_realtime", "auralis_perf.suites.realtime.groups",
        "How fast the engine masters audio against the clock: real-time factor on short, medium and long "
        "tracks, streaming latency, throughput under load, and whether the optimised code paths pay off."),
    Category(
        "memory", "MEM", "Memory", "02_memory", "auralis_perf.suites.memory.groups",
        "What the engine costs in memory: idle footprint, leaks over many cycles (a fitted slope, not two "
        "readings), peaks on long files and batches, and how efficiently buffers and caches use memory. "
        "Every figure says whether it is RSS, USS, peak RSS or traced Python allocations."),
    Category(
        "cache", "CACHE", "Cache effectiveness", "03_cache", "auralis_perf.suites.cache.groups",
        "Hit rates, speedups and correctness of the query, library and audio caches, including "
        "invalidation measured with randomized write/read sequences (stale reads must be zero)."),
    Category(
        "database", "DB", "Database queries", "04_database", "auralis_perf.suites.database.groups",
        "Query times on a generated music library, the indexes each query uses, scaling from 10k to "
        "100k tracks, offset against keyset pagination, and N+1 against eager loading."),
    Category(
        "optimization", "OPT", "Optimization validation", "05_optimization", "auralis_perf.suites.optimization.groups",
        "Whether each optimisation runs inside the real call and still pays: compiled kernels, "
        "vectorised paths, parallelism judged against the cores present, and algorithm choices. "
        "Every fast path is checked for unchanged output beside its speedup."),
)
BY_NAME: dict[str, Category] = {c.name: c for c in CATEGORIES}
BY_PREFIX: dict[str, Category] = {c.prefix: c for c in CATEGORIES}
NAMES: tuple[str, ...] = tuple(c.name for c in CATEGORIES)


def category(name: str) -> Category:
    """The category called `name`; ValueError naming the known ones otherwise."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown category {name!r}; known: {', '.join(NAMES)}") from None


__all__ = ["BY_NAME", "BY_PREFIX", "CATEGORIES", "NAMES", "Category", "category"]
