"""Re-run the groups of the checks to explain, under a profiler; records of these runs are thrown away.

    python -m auralis_perf.explain.child REQUEST.json      (the pipeline's explain step starts this)

REQUEST.json: {"engine", "profile", "audio": [paths], "workdir", "thresholds", "out": profiles folder,
"checks": {check id: "time" | "memory"}, "answer": path}. The answer file gets {check id: explanation}.

REQUEST.json may also hold "budget_s" (seconds this child may spend, --explain-budget) and "estimates"
({check id: the measured run's scenario seconds}); the answer file is rewritten after every profile, so a
child stopped at the budget keeps what it finished.

What is profiled: the chosen checks' own scenarios (`SuiteContext.only`: the group's other checks are not
run), all chosen checks of a group and kind in one profiled run; where a check needs another check of its
group (RT-04 is the lowest of RT-01..03), the whole group. Timing loops take one sample (`measure.rounds`:
the profile needs the workload's calls, not their repeats). A timing profile follows one untimed warm-up
run (compiled kernels, caches and lazy imports are then as warm as during the measured run, not counted
as the cost of the workload); a memory profile needs no warm-up, what stays alive at the peak is the
question.
"""
from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from auralis_perf import suites
from auralis_perf.catalog import load_catalog
from auralis_perf.explain.budget import not_profiled
from auralis_perf.explain.memory import profile_memory
from auralis_perf.explain.timing import profile_call
from auralis_perf.measure.rounds import measuring_round
from auralis_perf.results import CheckResult, write_json_atomic
from auralis_perf.suites.access import SuiteSession, SuiteUnavailable

#: Said under a time profile made without the warm-up's kept state (a group that measures once per run).
MEMOISED_NOTE = ("this group keeps what it measured for the whole run (ctx.shared), so after the warm-up run a "
                 "profiled run had nothing left to do: this profile is of a run without the warm-up's kept state, "
                 "its setup (a library built, say) included")
#: Rounds a profiled run's timing loops are split into: round 0 of so many takes one sample (and warms up),
#: round 1 one sample and no warm-up (measure.rounds.round_share).
ONE_SAMPLE_ROUNDS = 1_000_000


def explain_checks(session: SuiteSession, checks: Mapping[str, str], out: Path, *, budget_s: float | None = None,
                   estimates: Mapping[str, float] | None = None,
                   on_answer: Callable[[dict[str, dict[str, Any]]], None] | None = None) -> dict[str, dict[str, Any]]:
    """{check id: explanation} for `checks` ({id: "time"|"memory"}; one profile per group and kind, in the
    order of its first check); never raises for a profiler's or a scenario's trouble: the explanation then says what
    went wrong (`problem`). With `budget_s`, a profile is not started once the budget is spent or when the
    measured run of its checks (`estimates`) took longer than what is left; `on_answer` gets the answers
    so far after every profile (and before each one, with the profile's checks marked as cut short)."""
    answers: dict[str, dict[str, Any]] = {}
    # one profile per group and kind, in the order of their first check (explain.budget orders the checks)
    profiles: dict[tuple[str, str], tuple[suites.Group, list[str]]] = {}
    for check_id, kind in checks.items():
        try:
            g = session.group_answering(check_id)
        except SuiteUnavailable as exc:
            answers[check_id] = {"kind": kind, "problem": str(exc)}
            continue
        profiles.setdefault((g.name, kind), (g, []))[1].append(check_id)
    started = time.monotonic()
    for (_, kind), (g, ids) in profiles.items():
        explanation: dict[str, Any] = {"kind": kind, "group": g.name, "shared_by": ids}
        left = None if budget_s is None else budget_s - (time.monotonic() - started)
        needs = sum((estimates or {}).get(i, 0.0) for i in ids)
        if left is not None and (left <= 0 or needs > left):
            explanation["problem"] = not_profiled(budget_s) if left <= 0 else not_profiled(
                budget_s, f"too short for it: its measured run took {needs:.0f} s, {max(left, 0):.0f} s were left")
        else:
            if on_answer:  # a child stopped at the budget while profiling says so under these checks
                on_answer(answers | dict.fromkeys(ids, explanation | {"problem": not_profiled(
                    budget_s or 0, "spent while this check's profile was being made")}))
            try:
                explanation |= profile_group(session.context, g, kind, out, stem=ids[0], ids=ids)
            except Exception as exc:  # a profiler that is missing or fails: said, never a verdict changed
                explanation["problem"] = f"{type(exc).__name__}: {exc}"
                explanation["traceback"] = traceback.format_exc(limit=4)
        for check_id in ids:
            answers[check_id] = explanation
        if on_answer:
            on_answer(answers)
    return answers


@contextmanager
def asking(ctx: suites.SuiteContext, ids: Any, round_index: int) -> Iterator[None]:
    """Inside the block the group runs only `ids` (None: all its checks), its timing loops one sample."""
    saved = ctx.only
    ctx.only = None if ids is None else frozenset(ids)
    try:
        with measuring_round(round_index, ONE_SAMPLE_ROUNDS):
            yield
    finally:
        ctx.only = saved


def ran_all(records: list[CheckResult], ids: list[str]) -> bool:
    """Whether a run of only `ids` measured them (a check that needs another check of its group errs)."""
    return all(r.status != "error" for r in records if r.id in ids)


def profile_group(ctx: suites.SuiteContext, g: suites.Group, kind: str, out: Path, *, stem: str,
                  ids: list[str] | None = None) -> dict[str, Any]:
    """One profiled run of `ids`' own scenarios in `g` (all of `g` when `ids` is None or they cannot run
    alone), after a warm-up run for a time profile; the runs' records are dropped."""
    started = time.perf_counter()
    asked = list(ids) if ids else None
    if kind == "time":
        import pyinstrument

        before = set(ctx.shared)
        with asking(ctx, asked, 0):
            warm = suites.run_group(ctx, g)  # warm-up, untimed
        if asked and not ran_all(warm, asked):
            asked = None
            with asking(ctx, None, 0):
                suites.run_group(ctx, g)
        html = out / f"{stem}.html"
        with asking(ctx, asked, 1):
            _, profile = profile_call(lambda: suites.run_group(ctx, g), html)
        note = None
        if not profile.functions:  # the group kept its figures for the run: the warm-up measured them already
            for key in set(ctx.shared) - before:
                ctx.shared.pop(key, None)
            with asking(ctx, asked, 1):
                _, profile = profile_call(lambda: suites.run_group(ctx, g), html)
            note = (MEMOISED_NOTE if profile.functions else
                    "the profiled run recorded no samples, even with what the warm-up kept for the run dropped")
        answer = {"profiler": f"pyinstrument {pyinstrument.__version__}", "html": html.name} | profile.summary()
        answer |= {"note": note} if note else {}
    else:
        with asking(ctx, asked, 0):
            records, memory = profile_memory(lambda: suites.run_group(ctx, g), out, stem)
        if asked and not ran_all(records, asked):
            asked = None
            with asking(ctx, None, 0):
                _, memory = profile_memory(lambda: suites.run_group(ctx, g), out, stem)
        answer = memory.summary() | ({"html": memory.flamegraph.name} if memory.flamegraph else {})
    return answer | {"workload": asked or list(g.ids), "whole_group": asked is None,
                     "cost_s": round(time.perf_counter() - started, 3)}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    request = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    suites.apply_suite_overrides()
    session = SuiteSession(request["engine"], profile=request["profile"], workdir=Path(request["workdir"]),
                           audio_files=request.get("audio") or (), catalog=load_catalog(request.get("thresholds")))
    out = Path(request["out"])
    out.mkdir(parents=True, exist_ok=True)
    answers = explain_checks(session, request["checks"], out, budget_s=request.get("budget_s"),
                             estimates=request.get("estimates"),
                             on_answer=lambda so_far: write_json_atomic(request["answer"], so_far))
    write_json_atomic(request["answer"], answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
