"""Re-run the groups of the checks to explain, under a profiler; records of these runs are thrown away.

    python -m auralis_perf.explain.child REQUEST.json      (the pipeline's explain step starts this)

REQUEST.json: {"engine", "profile", "audio": [paths], "workdir", "thresholds", "out": profiles folder,
"checks": {check id: "time" | "memory"}, "answer": path}. The answer file gets {check id: explanation}.

A check is measured by its group, so the profile is of the group's workload: one profiled run serves
every chosen check of the group. A timing profile follows one untimed warm-up run of the group (compiled
kernels, caches and lazy imports are then as warm as during the measured run, not counted as the cost of
the workload); a memory profile needs no warm-up, what stays alive at the peak is the question.
"""
from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from auralis_perf import suites
from auralis_perf.catalog import load_catalog
from auralis_perf.explain.memory import profile_memory
from auralis_perf.explain.timing import profile_call
from auralis_perf.results import write_json_atomic
from auralis_perf.suites.access import SuiteSession, SuiteUnavailable


def explain_checks(session: SuiteSession, checks: Mapping[str, str], out: Path) -> dict[str, dict[str, Any]]:
    """{check id: explanation} for `checks` ({id: "time"|"memory"}); never raises for a profiler's or a
    scenario's trouble: the explanation then says what went wrong (`problem`)."""
    answers: dict[str, dict[str, Any]] = {}
    by_group: dict[str, tuple[suites.Group, dict[str, list[str]]]] = {}
    for check_id, kind in checks.items():
        try:
            g = session.group_answering(check_id)
        except SuiteUnavailable as exc:
            answers[check_id] = {"kind": kind, "problem": str(exc)}
            continue
        by_group.setdefault(g.name, (g, {}))[1].setdefault(kind, []).append(check_id)
    for g, kinds in by_group.values():
        for kind, ids in kinds.items():
            explanation = {"kind": kind, "group": g.name, "shared_by": ids}
            try:
                explanation |= profile_group(session.context, g, kind, out, stem=ids[0])
            except Exception as exc:  # a profiler that is missing or fails: said, never a verdict changed
                explanation["problem"] = f"{type(exc).__name__}: {exc}"
                explanation["traceback"] = traceback.format_exc(limit=4)
            for check_id in ids:
                answers[check_id] = explanation
    return answers


def profile_group(ctx: suites.SuiteContext, g: suites.Group, kind: str, out: Path, *, stem: str) -> dict[str, Any]:
    """One profiled run of `g` (after a warm-up run for a time profile); the runs' records are dropped."""
    started = time.perf_counter()
    if kind == "time":
        import pyinstrument

        suites.run_group(ctx, g)  # warm-up, untimed
        html = out / f"{stem}.html"
        _, profile = profile_call(lambda: suites.run_group(ctx, g), html)
        answer = {"profiler": f"pyinstrument {pyinstrument.__version__}", "html": html.name} | profile.summary()
    else:
        _, memory = profile_memory(lambda: suites.run_group(ctx, g), out, stem)
        answer = memory.summary() | ({"html": memory.flamegraph.name} if memory.flamegraph else {})
    return answer | {"cost_s": round(time.perf_counter() - started, 3)}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    request = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    suites.apply_suite_overrides()
    session = SuiteSession(request["engine"], profile=request["profile"], workdir=Path(request["workdir"]),
                           audio_files=request.get("audio") or (), catalog=load_catalog(request.get("thresholds")))
    out = Path(request["out"])
    out.mkdir(parents=True, exist_ok=True)
    answers = explain_checks(session, request["checks"], out)
    write_json_atomic(request["answer"], answers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
