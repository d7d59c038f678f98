"""`--against SPEC`: the candidate engine and a baseline engine measured in one session, then judged in pairs.

    run_report.py --engine reference --against reference@path=/ci/main-checkout

For each category, both sides' notebooks run in lockstep kernels (run/lockstep.py), the timing groups of
measure/rounds.ROUND_GROUPS in alternating rounds; the free cores are read before and after each notebook
(measure/capacity.py, for the load guard). The candidate's results go to the run folder as usual, the
baseline's to `against/`; the paired verdicts (regress/paired_compare.py) become the report's "Changes
since baseline" section and `comparison.json`. The history store is neither read nor written: the
baseline is the one measured beside the candidate.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from auralis_perf.catalog import Catalog, load_catalog
from auralis_perf.measure.capacity import free_cores
from auralis_perf.measure.control import NOTEBOOK_CONTROL_BUDGET_S, measure_control
from auralis_perf.measure.rounds import ROUND_GROUPS
from auralis_perf.results import write_json_atomic
from auralis_perf.run import kernel_env
from auralis_perf.run.against_spec import DEFAULT_ROUNDS, AgainstSpec, kernel_pythonpath
from auralis_perf.run.cli import RunConfig, notebook_path, path_safe
from auralis_perf.run.lockstep import Side, run_lockstep
from auralis_perf.run.pipeline import (
    EngineRun,
    NotebookOutcome,
    finish_engine_run,
    merge_category,
    notebook_outcome,
    notebook_parameters,
)

BASELINE_FOLDER = "against"


def baseline_label(spec: AgainstSpec) -> str:
    """The baseline side's engine name in its results and the report (distinct from the candidate's)."""
    return f"{spec.label} (baseline)"


def _baseline_env(base_env: dict[str, str], spec: AgainstSpec) -> dict[str, str]:
    entries = [str(p) for p in kernel_pythonpath(spec)]
    if not entries:
        return dict(base_env)
    inherited = base_env.get("PYTHONPATH", "")  # kernel_env's: relative entries already made absolute
    return {**base_env, "PYTHONPATH": os.pathsep.join(entries + ([inherited] if inherited else []))}


def run_against(config: RunConfig, catalog: Catalog, progress: Any, *, batch_id: str, machine: dict[str, Any],
                versions: dict[str, Any], control: dict[str, Any] | None) -> list[EngineRun]:
    """Both sides of every chosen category; returns [candidate, baseline] with their results written."""
    from datetime import datetime, timezone

    spec: AgainstSpec = config.against
    started = datetime.now(timezone.utc)
    work = config.out / "work"
    env = kernel_env(work)
    engines = (config.engines[0], spec.engine)
    bases = (config.out, config.out / BASELINE_FOLDER)
    envs = (env, _baseline_env(env, spec))
    outcomes: tuple[list[NotebookOutcome], list[NotebookOutcome]] = ([], [])
    checks: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
    control_by_category: dict[str, list[dict[str, Any] | None]] = {}
    load: dict[str, list[dict[str, Any]]] = {}
    interleaved: dict[str, dict[str, int]] = {}  # group -> rounds whose two processes took turns
    for category in config.categories:
        source = notebook_path(config.notebooks_dir, category)
        sides = []
        for i, label in enumerate(("candidate", "baseline")):
            outcome = notebook_outcome(engines[i], category, bases[i], source)
            scratch = work / label / path_safe(engines[i]) / category
            sides.append(Side(label=label, outcome=outcome, cwd=scratch, env=envs[i],
                              parameters=notebook_parameters(config, engines[i], scratch, outcome),
                              executable=str(spec.python) if i == 1 and spec.python else None))
        progress.start_notebook(f"{engines[0]} vs {spec.label}", category, sides[0].outcome.side_file,
                                len(catalog.ids(category)))
        control_by_category[category] = [measure_control(config.profile, NOTEBOOK_CONTROL_BUDGET_S)]
        load[category] = [free_cores()]
        run_lockstep(source, sides, rounds=config.rounds, round_groups=ROUND_GROUPS, timeout=config.timeout,
                     group_load=load[category], round_process=config.round_process)
        load[category].append(free_cores())
        for group, taken in sides[0].turns_taken.items():
            interleaved[group] = {"rounds": len(taken), "taking_turns": sum(taken)}
        control_by_category[category].append(measure_control(config.profile, NOTEBOOK_CONTROL_BUDGET_S))
        for i, side in enumerate(sides):
            checks[i].extend(merge_category(catalog, side.outcome))
            outcomes[i].append(side.outcome)
        worst = next((s.outcome for s in sides if s.outcome.status != "ok"), sides[0].outcome)
        progress.finish_notebook(worst.status, sum(s.outcome.duration_s for s in sides), worst.error)
    extra = {"against": {"spec": spec.text, "rounds": config.rounds, "round_groups": sorted(ROUND_GROUPS),
                         "round_process": config.round_process,
                         **({"interleaved": interleaved} if interleaved else {})},
             "free_cores_by_category": load}
    runs = []
    for i in range(2):
        runs.append(finish_engine_run(config, engines[i] if i == 0 else baseline_label(spec), bases[i],
                                      outcomes[i], checks[i], started=started, batch_id=batch_id, machine=machine,
                                      versions=versions, control=control, control_by_category=control_by_category,
                                      run_extra={**extra, "side": ("candidate", "baseline")[i]}))
    return runs


def exit_code_view(engine_runs: Sequence[EngineRun]) -> list[EngineRun]:
    """What the exit code judges: the candidate whole; of the baseline only whether it could be measured
    (its notebooks' failures and its `error` records, exit code 2), not its tiers (a slow baseline's
    critical miss is not the candidate's)."""
    candidate, baseline = engine_runs[0], engine_runs[1]
    errors = [c for c in baseline.results.get("checks", []) if c.get("status") == "error"]
    return [candidate, EngineRun(engine=baseline.engine, base=baseline.base, results_path=baseline.results_path,
                                 results={"checks": errors}, outcomes=baseline.outcomes)]


def explain_baseline(config: RunConfig, spec: AgainstSpec, baseline: EngineRun, regressed: Sequence[str]) -> None:
    """Profile the baseline side's `regressed` checks on its own interpreter and PYTHONPATH, so that the
    explain step's diffs (add_diffs) compare the candidate's profile with the baseline's of the same
    session. A profiler's trouble is noted under the check, never raised."""
    from auralis_perf.explain.select import profile_kind
    from auralis_perf.explain.step import profile_checks

    chosen = {c["id"]: kind for c in baseline.results["checks"]
              if c["id"] in set(regressed) and (kind := profile_kind(c)) is not None}
    if config.explain == "none" or not chosen:
        return
    work = config.out / "work"
    try:
        profile_checks(baseline.results, chosen, base=baseline.base, engine=spec.engine, profile=config.profile,
                       audio=config.audio, thresholds=config.thresholds, work=work / "explain" / "baseline",
                       timeout=config.timeout, env=_baseline_env(kernel_env(work), spec),
                       python=str(spec.python) if spec.python else None)
    except Exception as exc:  # an explanation must never cost the run its verdicts
        baseline.results["run"].setdefault("explain", {})["problem"] = f"{type(exc).__name__}: {exc}"
    write_json_atomic(baseline.results_path, baseline.results)


def paired_hook(spec: AgainstSpec, *, floor: float | None = None, stream: TextIO | None = None):
    """The pipeline's baseline hook for --against: paired verdicts of the candidate against the baseline run."""
    from auralis_perf.regress.paired_compare import compare_paired
    from auralis_perf.regress.section import changes_section_html

    def hook(config: Any, engine_runs: Sequence[EngineRun]) -> tuple[list[dict[str, Any]] | None, bool, str]:
        candidate, baseline = engine_runs[0], engine_runs[1]
        catalog = load_catalog(getattr(config, "thresholds", None))
        comparison = compare_paired(candidate.results, baseline.results, catalog, label=f"--against {spec.text}",
                                    floor=floor)
        candidate.baseline_results = baseline.results
        write_json_atomic(Path(candidate.base) / "comparison.json", {"comparison": comparison.to_dict()})
        print(f"against ({candidate.engine}): {comparison.summary_line()}", file=stream or sys.stdout)
        changes = [d | {"engine": candidate.engine} for d in comparison.to_dicts()]
        explain_baseline(config, spec, baseline, [v.id for v in comparison.of("regressed")])
        return changes, bool(comparison.critical_regressions), changes_section_html(comparison)

    return hook


__all__ = ["BASELINE_FOLDER", "DEFAULT_ROUNDS", "baseline_label", "exit_code_view", "explain_baseline", "paired_hook",
           "run_against"]
