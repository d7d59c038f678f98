"""`--perf-against ENGINE`: the pytest front end's paired mode.

The report's `--against` runs two kernels; pytest runs groups in its own process, so here the baseline
engine gets a `SuiteSession` of its own beside the candidate's, and each group runs on both: the groups of
ROUND_GROUPS in alternating rounds (measure/rounds.py: A B B A ..., each round a share of the timed
calls), the others once per side. As with the report's default (`--against-round-process interleaved`),
each round is measured in newly spawned processes of both sides at once, taking turns sample by sample on
one CPU under a referee in this process (measure/turns.py; a process's own speed becomes per-round noise,
not a bias of the whole run); `--perf-against-round-process fresh` spawns one side's process after the
other's, `kernel` measures the rounds in this process. A catalogue test then
fails when its check `regressed` against the baseline (regress/paired_compare.py: paired verdicts for the rounds, unpaired for the rest). The free cores
are read before and after each group (measure/capacity.py), so the load guard and the drift guard of the
unpaired timings see how busy the machine was around it, as the report's notebooks do.
"""
from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auralis_perf.measure.capacity import free_cores
from auralis_perf.measure.rounds import ROUND_GROUPS, measuring_round, round_order
from auralis_perf.measure.turns import TurnReferee
from auralis_perf.notebook.round_process import measure_round_in_fresh_process, round_request
from auralis_perf.notebook.rounds import merge_rounds
from auralis_perf.regress.paired_compare import compare_paired
from auralis_perf.regress.verdicts import Verdict
from auralis_perf.results import CheckResult
from auralis_perf.run.against_spec import DEFAULT_ROUND_PROCESS, DEFAULT_ROUNDS
from auralis_perf.suites import Group
from auralis_perf.suites.access import SuiteSession, SuiteUnavailable


@dataclass
class PairedGroups:
    """The baseline's session, and how many rounds a round group takes per side."""

    baseline: SuiteSession
    rounds: int = DEFAULT_ROUNDS
    #: where each round of a round group is measured: "fresh" (a newly spawned process), "kernel" (this
    #: process) or "interleaved" (both sides' spawned processes at once, taking turns)
    round_process: str = DEFAULT_ROUND_PROCESS
    #: the thresholds file both sides judge by (None: the packaged catalogue), passed to fresh rounds
    thresholds: str | None = None
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    groups_run: int = 0

    def run_group(self, candidate: SuiteSession, category: str, name: str,
                  ids: list[str]) -> tuple[Group | None, str | None]:
        """Run the group `name` on both sessions (see the module's docstring); both keep their records."""
        sessions = (candidate, self.baseline)
        found: list[tuple[Group | None, str | None]] = [(None, None), (None, None)]

        def once(i: int) -> list[CheckResult]:
            g, records, problem = sessions[i].run(lambda: sessions[i].group_named(category, name), ids)
            found[i] = (g, problem)
            return records

        def fresh_round(i: int, k: int, turns: tuple[str, int] | None = None) -> list[CheckResult]:
            try:
                found[i] = (sessions[i].group_named(category, name), None)
            except SuiteUnavailable as exc:  # the spawned process records the same problem as errors
                found[i] = (None, str(exc))
            return measure_round_in_fresh_process(round_request(
                engine=sessions[i].engine_name, profile=sessions[i].profile, category=category, group=name,
                ids=ids, index=k, rounds=self.rounds, workdir=sessions[i].workdir, audio=sessions[i].audio_files,
                thresholds=self.thresholds, turns=turns))

        def interleaved_round(k: int) -> tuple[list[CheckResult], list[CheckResult]]:
            with tempfile.TemporaryDirectory(prefix="ap-turns-") as folder, \
                    TurnReferee(Path(folder) / "turns", first=round_order(k)[0]) as referee, \
                    ThreadPoolExecutor(max_workers=2) as pool:
                def side(i: int) -> list[CheckResult]:
                    try:
                        return fresh_round(i, k, (str(referee.path), i))
                    finally:
                        referee.retire(i)
                futures = [pool.submit(side, i) for i in (0, 1)]
                return futures[0].result(), futures[1].result()

        readings = [free_cores()]
        if name in ROUND_GROUPS and self.rounds > 1:
            per_side: tuple[list[list[CheckResult]], list[list[CheckResult]]] = ([], [])
            for k in range(self.rounds):
                if self.round_process == "interleaved":
                    for i, records in enumerate(interleaved_round(k)):
                        per_side[i].append(records)
                    continue
                for i in round_order(k):
                    if self.round_process == "fresh":
                        per_side[i].append(fresh_round(i, k))
                        continue
                    with measuring_round(k, self.rounds):
                        per_side[i].append(once(i))
            for i, session in enumerate(sessions):
                session.records.update((r.id, r) for r in merge_rounds(per_side[i], session.catalog))
        else:
            for i in round_order(self.groups_run):  # who goes first alternates from group to group
                once(i)
        readings.append(free_cores())
        self.groups_run += 1
        self.judge(candidate, ids, {category: readings})
        return found[0]

    def judge(self, candidate: SuiteSession, ids: list[str],
              free: dict[str, list[dict[str, Any]]] | None = None) -> None:
        """Verdicts of the checks `ids` of both sessions; `free` holds the free-core readings around their
        group by category (what the guards read)."""
        def doc(session: SuiteSession) -> dict[str, Any]:
            return {"run": {"id": session.engine_name, "machine": {}, "free_cores_by_category": free or {}},
                    "checks": [session.records[i].to_dict() for i in ids if i in session.records]}

        comparison = compare_paired(doc(candidate), doc(self.baseline), candidate.catalog,
                                    label=f"--perf-against {self.baseline.engine_name}")
        self.verdicts.update((v.id, v) for v in comparison.verdicts)

    def verdict(self, check_id: str) -> Verdict | None:
        """The check's verdict against the baseline, once its group ran (None: not compared)."""
        return self.verdicts.get(check_id)


__all__ = ["PairedGroups"]
