"""The check catalogue and its thresholds, loaded from TOML and validated.

`auralis_perf/catalog.toml` holds every check with its tiers. A user may pass another file
(`--thresholds`); any mistake in it is reported with the file, the line and the key, never as a KeyError
deep inside a run.
"""
from __future__ import annotations

import math
import operator
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from auralis_perf.categories import BY_PREFIX

DEFAULT_CATALOG = Path(__file__).with_name("catalog.toml")
TIERS = ("critical", "target", "stretch")
DIRECTIONS = ("higher", "lower")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}
_BOUND = re.compile(r"^\s*(>=|<=|==|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_ID = re.compile(rf"^({'|'.join(BY_PREFIX)})-(\d\d)$")
_CHECK_KEYS = {"category", "group", "title", "measures", "criterion", "unit", "direction", "floor",
               "paired_floor", "memory_tolerance_mb", *TIERS}


class ThresholdsError(ValueError):
    """A thresholds file that cannot be used. The message names the file, the line and the key."""


@dataclass(frozen=True)
class Bound:
    op: str
    limit: float

    def holds(self, value: float) -> bool:
        return _OPS[self.op](value, self.limit)

    def __str__(self) -> str:
        return f"{self.op} {self.limit:g}"


@dataclass(frozen=True)
class CheckSpec:
    id: str
    category: str
    group: str
    title: str
    measures: str
    criterion: str
    unit: str
    direction: str
    tiers: dict[str, Bound | None] = field(default_factory=dict)
    floor: float = 0.10
    paired_floor: float = 0.03
    memory_tolerance_mb: float = 5.0

    @property
    def gating_tier(self) -> str | None:
        """The first tier that has a bound: a miss of it makes the check's status `fail`."""
        return next((t for t in TIERS if self.tiers.get(t) is not None), None)


@dataclass(frozen=True)
class Catalog:
    path: Path
    checks: dict[str, CheckSpec]
    alpha: float = 0.01

    def __getitem__(self, check_id: str) -> CheckSpec:
        return self.checks[check_id]

    def ids(self, category: str | None = None) -> list[str]:
        return [c for c, spec in self.checks.items() if category is None or spec.category == category]


def _line_of(text: str, check_id: str | None, key: str | None) -> int:
    """1-based line where a key (inside a check's table) is written; 0 when it cannot be found."""
    lines = text.splitlines()
    start = 0
    if check_id is not None:
        header = re.compile(r'^\s*\[\s*checks\.\s*"?' + re.escape(check_id) + r'"?\s*\]')
        start = next((i for i, l in enumerate(lines) if header.match(l)), -1)
        if start < 0:
            return 0
        if key is None:
            return start + 1
        start += 1
    for i in range(start, len(lines)):
        if check_id is not None and lines[i].lstrip().startswith("["):
            break
        if key is not None and re.match(r"^\s*" + re.escape(key) + r"\s*=", lines[i]):
            return i + 1
    return start if check_id is not None else 0


def parse_bound(raw: Any) -> Bound:
    if not isinstance(raw, str):
        raise ValueError(f"a bound must be a string like \"> 20\", got {raw!r}")
    m = _BOUND.match(raw)
    if not m:
        raise ValueError(f"malformed bound {raw!r}; expected OP NUMBER with OP one of > >= < <= ==")
    limit = float(m.group(2))
    if not math.isfinite(limit):
        raise ValueError(f"bound {raw!r} is not a finite number")
    return Bound(m.group(1), limit)


def load_catalog(path: str | Path | None = None, *, require_all: bool = False) -> Catalog:
    """Load and validate a thresholds file; `require_all` also demands every ID of the default catalogue."""
    path = Path(path) if path is not None else DEFAULT_CATALOG
    return _load(path.resolve(), require_all)


@lru_cache(maxsize=8)
def _load(path: Path, require_all: bool) -> Catalog:
    def fail(message: str, check_id: str | None = None, key: str | None = None) -> ThresholdsError:
        line = _line_of(text, check_id, key)
        where = f"{path}:{line}" if line else str(path)
        what = f" [checks.{check_id}]" if check_id else ""
        what += f" key {key!r}" if key else ""
        return ThresholdsError(f"{where}:{what} {message}")

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ThresholdsError(f"{path}: cannot read thresholds file: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThresholdsError(f"{path}: not valid TOML: {exc}") from exc

    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise fail("[defaults] must be a table", None, "defaults")
    floor_default = _number(defaults.get("floor", 0.10), lambda m: fail(m, None, "floor"))
    paired_default = _number(defaults.get("paired_floor", 0.03), lambda m: fail(m, None, "paired_floor"))
    mem_default = _number(defaults.get("memory_tolerance_mb", 5.0), lambda m: fail(m, None, "memory_tolerance_mb"))
    alpha = _number(defaults.get("alpha", 0.01), lambda m: fail(m, None, "alpha"))

    raw_checks = data.get("checks")
    if not isinstance(raw_checks, dict) or not raw_checks:
        raise fail("has no [checks.\"ID\"] tables")
    checks: dict[str, CheckSpec] = {}
    for check_id, entry in raw_checks.items():
        m = _ID.match(check_id)
        if not m:
            raise fail(f"unknown check ID {check_id!r} (expected e.g. RT-01, MEM-20, CACHE-05, DB-10, OPT-16)",
                       check_id)
        if int(m.group(2)) < 1 or int(m.group(2)) > 20:
            raise fail(f"unknown check ID {check_id!r}: numbers run from 01 to 20", check_id)
        if not isinstance(entry, dict):
            raise fail("must be a table", check_id)
        for key in entry:
            if key not in _CHECK_KEYS:
                raise fail(f"unknown key; allowed: {', '.join(sorted(_CHECK_KEYS))}", check_id, key)
        category = entry.get("category", BY_PREFIX[m.group(1)].name)
        if category != BY_PREFIX[m.group(1)].name:
            raise fail(f"category {category!r} does not match the ID's prefix ({BY_PREFIX[m.group(1)].name!r})",
                       check_id, "category")
        direction = entry.get("direction", "higher")
        if direction not in DIRECTIONS:
            raise fail(f"direction must be one of {DIRECTIONS}, got {direction!r}", check_id, "direction")
        tiers: dict[str, Bound | None] = {}
        for tier in TIERS:
            raw = entry.get(tier)
            try:
                tiers[tier] = None if raw is None else parse_bound(raw)
            except ValueError as exc:
                raise fail(str(exc), check_id, tier) from None
        text_fields = {}
        for key in ("group", "title", "measures", "criterion", "unit"):
            value = entry.get(key, "")
            if not isinstance(value, str):
                raise fail("must be a string", check_id, key)
            text_fields[key] = value
        checks[check_id] = CheckSpec(
            id=check_id, category=category, direction=direction, tiers=tiers,
            floor=_number(entry.get("floor", floor_default), lambda msg: fail(msg, check_id, "floor")),
            paired_floor=_number(entry.get("paired_floor", paired_default),
                                 lambda msg: fail(msg, check_id, "paired_floor")),
            memory_tolerance_mb=_number(entry.get("memory_tolerance_mb", mem_default),
                                        lambda msg: fail(msg, check_id, "memory_tolerance_mb")),
            **text_fields)

    if require_all and path != DEFAULT_CATALOG.resolve():
        missing = sorted(set(load_catalog().checks) - set(checks))
        if missing:
            raise fail(f"is missing checks: {', '.join(missing)}")
    return Catalog(path=path, checks=dict(sorted(checks.items(), key=lambda kv: _sort_key(kv[0]))), alpha=alpha)


def _number(raw: Any, error: Callable[[str], ThresholdsError]) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw) or raw < 0:
        raise error(f"must be a non-negative number, got {raw!r}")
    return float(raw)


def _sort_key(check_id: str) -> tuple[int, int]:
    prefix, number = check_id.split("-")
    return list(BY_PREFIX).index(prefix), int(number)
