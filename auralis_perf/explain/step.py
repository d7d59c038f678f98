"""The pipeline's explain step: after the notebooks (and again after the baseline comparison), profile the
chosen checks of each engine in one child process and put the explanations into results.json.

Where the profiled re-run happens, and why there: the notebook kernels hold a warm engine, but papermill
has shut each kernel down when its notebook ends, and which checks regressed is only known after every
notebook ran and the baseline was compared. A child process per engine (the same interpreter and kernel
environment as the notebooks) can run any group on request, after all figures are measured, so nothing it
does can touch a figure; a crash in native code under a profiler costs the explanation, not the run; and
a run where nothing fails starts no child at all. Its cost is reported in `run.explain`, never in a figure.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from auralis_perf.catalog import Catalog, load_catalog
from auralis_perf.explain.budget import DEFAULT_BUDGET_S, estimated_seconds, limit, not_profiled, order_checks
from auralis_perf.explain.diff import profile_diff
from auralis_perf.explain.select import profile_kind, wanted
from auralis_perf.results import write_json_atomic

PROFILES_DIR = "profiles"


def explain_results(results: dict[str, Any], *, base: Path, mode: str, engine: str, profile: str,
                    audio: Iterable[str | Path] = (), thresholds: str | Path | None = None, work: Path,
                    timeout: float, env: Mapping[str, str] | None = None, regressed: Iterable[str] = (),
                    budget_s: float | None = DEFAULT_BUDGET_S) -> dict[str, Any]:
    """Profile the checks of `results` that `mode` asks for (and the `regressed` ones) not explained yet,
    most important first (explain.budget), within what is left of `budget_s` (all passes of this run
    together; None or 0: no limit); put each explanation in its record's details; returns what this pass
    did and cost (also added to `results["run"]["explain"]`). The caller rewrites results.json."""
    catalog = load_catalog(thresholds)
    chosen = reuse_group_profiles(results, choose(results, mode, regressed), catalog)
    info = results["run"].setdefault("explain", {"mode": mode, "passes": []})
    if not chosen:
        return info
    chosen = order_checks(results["checks"], chosen, catalog, regressed)
    budget = limit(budget_s)
    info["budget_s"] = budget
    left = None if budget is None else budget - float(info.get("cost_s") or 0.0)
    if left is not None and left <= 0:  # earlier passes spent it all: said under each check, no process
        return attach(results, chosen, {}, 0.0, not_profiled(budget))
    return profile_checks(results, chosen, base=base, engine=engine, profile=profile, audio=audio,
                          thresholds=thresholds, work=work, timeout=timeout, env=env, budget_s=left,
                          budget_label=budget)


def profile_checks(results: dict[str, Any], chosen: Mapping[str, str], *, base: Path, engine: str, profile: str,
                   audio: Iterable[str | Path] = (), thresholds: str | Path | None = None, work: Path,
                   timeout: float, env: Mapping[str, str] | None = None, python: str | None = None,
                   budget_s: float | None = None, budget_label: float | None = None) -> dict[str, Any]:
    """Profile exactly `chosen` ({check id: "time"|"memory"}, in this order) of `results` in one child
    process run by `python` (default: this interpreter) with `env` on top of this environment, and attach
    the answers. With `budget_s` the child starts no profile past it and is stopped at it (what it
    finished is kept; `budget_label`, the run's whole budget, is what the reasons name). Also the way to
    profile a baseline measured beside the run (--against, on its own interpreter and PYTHONPATH) before
    `add_diffs(candidate, baseline)` diffs the two."""
    work.mkdir(parents=True, exist_ok=True)
    request, answer = work / f"explain-request-{os.getpid()}.json", work / f"explain-answer-{os.getpid()}.json"
    answer.unlink(missing_ok=True)
    write_json_atomic(request, {"engine": engine, "profile": profile, "audio": [str(p) for p in audio],
                                "workdir": str(work / "scratch"), "out": str(base / PROFILES_DIR),
                                "thresholds": str(thresholds) if thresholds else None, "checks": dict(chosen),
                                "answer": str(answer), "budget_s": budget_s,
                                "estimates": _estimates(results, chosen)})
    stop_at = timeout if budget_s is None else min(timeout, budget_s)
    started = time.monotonic()
    problem = None
    try:
        returncode, stderr = run_child([python or sys.executable, "-m", "auralis_perf.explain.child", str(request)],
                                       env={**os.environ, **(env or {})}, timeout=stop_at)
        if returncode != 0:
            problem = f"the profiling process exited with {returncode}: {stderr.strip()[-400:]}"
    except subprocess.TimeoutExpired:
        problem = (not_profiled(budget_label or budget_s or stop_at) if budget_s is not None and stop_at == budget_s
                   else f"the profiling process exceeded {timeout:g} s")
    except OSError as exc:  # an interpreter that does not exist or cannot run (say a baseline's @python=)
        problem = f"the profiling process could not start: {exc}"
    cost = time.monotonic() - started
    try:
        answers = json.loads(answer.read_text(encoding="utf-8")) if answer.is_file() else {}
    except (OSError, ValueError) as exc:
        answers, problem = {}, f"the profiling process's answer could not be read: {exc}"
    return attach(results, chosen, answers, cost, problem or "the profiling process gave no answer")


def _estimates(results: dict[str, Any], chosen: Mapping[str, str]) -> dict[str, float]:
    """{check id: seconds its measured run took} for the chosen checks (explain.budget orders and cuts by it)."""
    by_id = {c["id"]: c for c in results["checks"]}
    return {i: estimated_seconds(by_id.get(i, {})) for i in chosen}


def run_child(command: list[str], *, env: Mapping[str, str], timeout: float) -> tuple[int, str]:
    """(return code, stderr) of `command`; at `timeout` its whole process group is killed (the groups it
    re-runs start processes of their own: pools, fresh interpreters) and TimeoutExpired raised."""
    with subprocess.Popen(command, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as child:
        try:
            _, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                child.kill()
            child.communicate()
            raise
        return child.returncode, stderr or ""


def explain_in_process(session: Any, results: dict[str, Any], *, base: Path, mode: str,
                       budget_s: float | None = DEFAULT_BUDGET_S) -> dict[str, Any]:
    """The same for the pytest front end: its `SuiteSession` still holds the warm engine when the session
    ends, and every figure is measured by then, so the groups are re-run in this process (the budget is
    checked before each profile; one already running is not stopped)."""
    from auralis_perf.explain.child import explain_checks

    chosen = choose(results, mode)
    info = results["run"].setdefault("explain", {"mode": mode, "passes": []})
    if not chosen:
        return info
    chosen = order_checks(results["checks"], chosen, session.catalog)
    info["budget_s"] = limit(budget_s)
    started = time.monotonic()
    answers = explain_checks(session, chosen, base / PROFILES_DIR, budget_s=limit(budget_s),
                             estimates=_estimates(results, chosen))
    return attach(results, chosen, answers, time.monotonic() - started, "no answer")


def choose(results: Mapping[str, Any], mode: str, regressed: Iterable[str] = ()) -> dict[str, str]:
    """{check id: "time"|"memory"} of the checks `mode` asks for that have no explanation yet."""
    regressed = set(regressed)
    return {c["id"]: profile_kind(c) for c in results["checks"]
            if wanted(c, mode, regressed) and "explanation" not in (c.get("details") or {})}


def reuse_group_profiles(results: dict[str, Any], chosen: Mapping[str, str], catalog: Catalog) -> dict[str, str]:
    """Give each chosen check whose group this run already profiled (the same kind of profile, in an earlier
    pass: a check that failed before the baseline comparison, say, and one that regressed after it) that
    profile, since one run of a group measures all its checks; returns the checks still to profile."""
    earlier: dict[tuple[str, str], dict[str, Any]] = {}
    for record in results["checks"]:
        x = (record.get("details") or {}).get("explanation")
        spec = catalog.checks.get(record["id"])
        if x and spec and not x.get("problem") and x.get("group") == spec.group:
            earlier.setdefault((spec.group, x.get("kind")), x)
    left, added = {}, {}
    for record in results["checks"]:
        kind = chosen.get(record["id"])
        spec = catalog.checks.get(record["id"])
        if kind and spec and (spec.group, kind) in earlier:
            record.setdefault("details", {})["explanation"] = dict(earlier[(spec.group, kind)])
            added.setdefault((spec.group, kind), []).append(record["id"])
        elif kind:
            left[record["id"]] = kind
    for record in results["checks"]:  # every copy of a reused profile names all the checks it now serves
        x = (record.get("details") or {}).get("explanation")
        spec = catalog.checks.get(record["id"])
        if x and spec and (spec.group, x.get("kind")) in added and x.get("group") == spec.group:
            x["shared_by"] = [*dict.fromkeys([*(x.get("shared_by") or []), *added[(spec.group, x["kind"])]])]
    return left


def attach(results: dict[str, Any], chosen: Mapping[str, str], answers: Mapping[str, Any], cost: float,
           problem: str | None) -> dict[str, Any]:
    """Put each chosen check's explanation (or the problem) in its record; log the pass and its cost."""
    for record in results["checks"]:
        if record["id"] in chosen:
            explanation = answers.get(record["id"]) or {"kind": chosen[record["id"]], "problem": problem}
            record.setdefault("details", {})["explanation"] = _with_links(explanation)
    info = results["run"].setdefault("explain", {"mode": "?", "passes": []})
    left_out = sorted(i for i in chosen if str((answers.get(i) or {"problem": problem}).get("problem") or "")
                      .startswith("not profiled"))
    info["passes"].append({"checks": sorted(set(chosen) - set(left_out)), "not_profiled": left_out,
                           "cost_s": round(cost, 3), "problem": problem if not answers else None})
    info["cost_s"] = round(sum(p["cost_s"] for p in info["passes"]), 3)
    return info


def _with_links(explanation: dict[str, Any]) -> dict[str, Any]:
    """Side files named relative to the run folder (the report links them from there)."""
    if explanation.get("html"):
        explanation = explanation | {"html": f"{PROFILES_DIR}/{explanation['html']}"}
    return explanation


def add_diffs(results: dict[str, Any], baseline: Mapping[str, Any] | None) -> int:
    """Give each time explanation of `results` a diff against the baseline's profile of that check (both
    results documents); returns how many diffs were made. A check the baseline kept no profile of gets a
    `diff_problem` saying so instead."""
    if not baseline:
        return 0
    label = str((baseline.get("run") or {}).get("id"))
    before = {c.get("id"): (c.get("details") or {}).get("explanation") for c in baseline.get("checks", [])}
    made = 0
    for record in results["checks"]:
        now = (record.get("details") or {}).get("explanation")
        if now and now.get("kind") == "time" and not now.get("problem"):
            made += attach_diff(now, before.get(record["id"]), label)
    return made


def attach_diff(now: dict[str, Any], before: Mapping[str, Any] | None, baseline_label: str) -> bool:
    """Put into the time explanation `now` the functions whose share grew since `before` (the baseline's
    explanation of the same check: from the history, or from a baseline measured beside this run); returns
    whether a diff was made. The seam for any source of baseline profiles."""
    if not before or before.get("kind") != "time" or before.get("problem"):
        now["diff_problem"] = (f"the baseline ({baseline_label}) kept no time profile of this check: a baseline "
                               "run with --explain all keeps one of every timing check")
        return False
    now["diff"] = profile_diff(before, now)
    now["diff_baseline"] = baseline_label
    now.pop("diff_problem", None)
    return True


def keep_in_history(results: dict[str, Any], url: str, run_id: int) -> None:
    """Store the explanations of `results` (made after the history stored the run: the regressed checks'
    profiles, the diffs) with the stored run, so a later run that takes it as its baseline can diff with
    them. A store that refuses says so in `run.explain`, never stops the run."""
    from auralis_perf.history import HistoryError, HistoryStore

    try:
        with HistoryStore(url, create=False) as store:
            store.update_details(run_id, results)
    except HistoryError as exc:
        results["run"].setdefault("explain", {"passes": []})["history_problem"] = str(exc)


def rewrite_results(path: Path, results: dict[str, Any]) -> Path:
    return write_json_atomic(path, results)
