"""Choosing what a run is compared with: `--baseline NAME|latest|PATH_TO_results.json`.

By default the latest stored run of the same machine, engine and profile. Runs of another machine are
refused unless `cross_machine` is asked for; the comparison is then normalised by the control workload
(see `auralis_perf.regress.normalise`). Another profile is always refused: its sizes differ.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auralis_perf.history.store import HistoryStore, machine_fingerprint, run_key
from auralis_perf.history.urls import HistoryError
from auralis_perf.results import read_results


class BaselineError(HistoryError):
    """The requested baseline does not exist or may not be compared with this run."""


@dataclass
class BaselineChoice:
    """What `resolve_baseline` found. `results` is None when there is nothing to compare with (yet)."""

    results: dict[str, Any] | None
    label: str
    cross_machine: bool = False
    run_id: int | None = None

    @property
    def found(self) -> bool:
        return self.results is not None


def looks_like_path(spec: str) -> bool:
    """Whether a --baseline value names a results.json file rather than a stored baseline."""
    return spec.endswith(".json") or "/" in spec or Path(spec).is_file()


def resolve_baseline(spec: str | None, current: dict[str, Any], store: HistoryStore | None, *,
                     cross_machine: bool = False, exclude_run_id: int | None = None) -> BaselineChoice:
    """Find the baseline for `current` (a results document). Raises BaselineError when refused or missing.

    `spec`: None or "latest" (newest earlier run of the key), a saved baseline name, or a results.json path.
    """
    spec = (spec or "latest").strip()
    machine, engine, profile = run_key(current)
    if looks_like_path(spec):
        return _from_file(Path(spec), machine, engine, profile, cross_machine)
    if store is None:
        raise BaselineError(f"baseline {spec!r} needs the history store, which is switched off")
    if spec.lower() == "latest":
        found = store.baseline("latest", machine, engine, profile, exclude_run_id=exclude_run_id)
        if found is None and cross_machine:
            found = store.baseline("latest", None, engine, profile, exclude_run_id=exclude_run_id)
        if found is None:
            return BaselineChoice(None, f"no earlier {engine}/{profile} run of this machine in {store.display_url}")
        return _choice(found, "latest run", machine)
    found = store.baseline(spec, machine, engine, profile, exclude_run_id=exclude_run_id)
    if found is not None:
        return _choice(found, f"baseline {spec!r}", machine)
    elsewhere = store.baseline(spec, None, engine, profile, exclude_run_id=exclude_run_id)
    if elsewhere is not None and cross_machine:
        return _choice(elsewhere, f"baseline {spec!r}", machine)
    if elsewhere is not None:
        raise BaselineError(
            f"baseline {spec!r} ({engine}/{profile}) was saved on another machine "
            f"({machine_fingerprint(elsewhere['run']['machine'])}, this one is {machine}); pass --cross-machine to "
            "compare anyway, with times normalised by the control workload")
    names = sorted({b["name"] for b in store.baseline_names(engine, profile)})
    raise BaselineError(f"no baseline named {spec!r} for {engine}/{profile} in {store.display_url}; "
                        f"saved names: {', '.join(names) or 'none'} (or use 'latest' or a results.json path)")


def _choice(found: dict[str, Any], what: str, machine: str) -> BaselineChoice:
    history = found.get("history", {})
    other = machine_fingerprint(found["run"]["machine"]) != machine
    label = f"{what}: run {found['run'].get('id')} of {found['run'].get('started_at')} (#{history.get('run_id')})"
    if other:
        label += f", machine {machine_fingerprint(found['run']['machine'])}"
    return BaselineChoice(found, label, cross_machine=other, run_id=history.get("run_id"))


def _from_file(path: Path, machine: str, engine: str, profile: str, cross_machine: bool) -> BaselineChoice:
    try:
        found = read_results(path)
    except ValueError as exc:
        raise BaselineError(f"baseline file: {exc}") from None
    other_machine, other_engine, other_profile = run_key(found)
    if other_profile != profile:
        raise BaselineError(f"{path}: baseline profile is {other_profile!r}, this run's is {profile!r}: "
                            "profiles use different sizes and cannot be compared")
    if other_machine != machine and not cross_machine:
        raise BaselineError(f"{path}: baseline was measured on another machine ({other_machine}, this one is "
                            f"{machine}); pass --cross-machine to compare with times normalised by the control "
                            "workload")
    label = f"file {path}: run {found['run'].get('id')} of {found['run'].get('started_at')}"
    if other_engine != engine:
        label += f", engine {other_engine}"
    if other_machine != machine:
        label += f", machine {other_machine}"
    return BaselineChoice(found, label, cross_machine=other_machine != machine)
