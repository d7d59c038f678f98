"""Two measuring processes taking turns sample by sample (measure/turns.py, --against-round-process
interleaved): the A B B A order of the samples, and no deadlock when a side never comes, leaves early, or
there is no referee at all."""
from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from auralis_perf.measure import measure_time
from auralis_perf.measure.turns import TurnReferee, taking_turns, turn_owner

TESTS = Path(__file__).parent


def test_turns_go_a_b_b_a_so_each_side_goes_first_in_every_other_pair():
    assert [turn_owner(g, 0) for g in range(9)] == [0, 1, 1, 0, 0, 1, 1, 0, 0]
    assert [turn_owner(g, 1) for g in range(5)] == [1, 0, 0, 1, 1]
    with pytest.raises(ValueError):
        turn_owner(0, 2)


def _measure(path: Path, side: int, samples: int, calls: list[int], taken: list[bool]) -> None:
    with taking_turns(str(path), side) as taking:
        taken.append(taking)
        measure_time(lambda: calls.append(side), warmup=0, repeat=samples, min_time=0.0, inner_loops=1)


def test_the_timed_samples_of_two_sides_alternate_a_b_b_a(tmp_path):
    calls, taken = [], []
    with TurnReferee(tmp_path / "t", first=1) as referee:
        threads = [threading.Thread(target=_measure, args=(referee.path, side, 6, calls, taken)) for side in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
    assert taken == [True, True]
    assert calls == [1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1]
    assert referee.grants[:12] == [turn_owner(g, 1) for g in range(12)]


def test_both_sides_warm_up_before_their_samples_of_a_clip_follow_each_other(tmp_path):
    """One sample per clip and round (the Real-time factor group in rounds): A warms up, B warms up, B's
    sample, A's sample, then the next clip; no warm-up lies between the two samples of a pair."""
    calls = []

    def clips(side: int) -> None:
        with taking_turns(str(referee.path), side):
            for clip in range(3):
                measure_time(lambda: calls.append((side, clip)), warmup=1, repeat=1, min_time=0.0, inner_loops=1)

    with TurnReferee(tmp_path / "t", first=0) as referee:
        with ThreadPoolExecutor(2) as pool:
            for f in [pool.submit(clips, side) for side in (0, 1)]:
                f.result(timeout=30)
    warm_a, warm_b, sample_b, sample_a = (0, 0), (1, 0), (1, 0), (0, 0)
    assert calls[:4] == [warm_a, warm_b, sample_b, sample_a]
    assert [side for side, _ in calls] == [0, 1, 1, 0] * 3
    assert [clip for _, clip in calls] == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]


def test_a_side_that_never_connects_leaves_the_other_measuring_alone(tmp_path):
    calls, taken = [], []
    with TurnReferee(tmp_path / "t", first=1, connect_timeout=0.5) as referee:
        _measure(referee.path, 0, 3, calls, taken)
    assert taken == [True] and calls == [0, 0, 0] and set(referee.grants) == {0}


def test_a_side_retired_before_it_connected_is_not_waited_for(tmp_path):
    """An older harness on one side fails its round at once: its starter retires it, and the other side
    starts measuring then, not after the connect timeout."""
    import time

    calls, taken = [], []
    with TurnReferee(tmp_path / "t", first=1, connect_timeout=60) as referee:
        with ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            alone = pool.submit(_measure, referee.path, 0, 3, calls, taken)
            referee.retire(1)
            alone.result(timeout=30)
            assert time.monotonic() - started < 10
    assert taken == [True] and calls == [0, 0, 0]


def test_a_side_that_ends_early_gives_its_turns_to_the_other(tmp_path):
    calls, taken = [], []
    with TurnReferee(tmp_path / "t", first=0) as referee:
        with ThreadPoolExecutor(2) as pool:
            long = pool.submit(_measure, referee.path, 0, 5, calls, taken)
            short = pool.submit(_measure, referee.path, 1, 1, calls, taken)
            short.result(timeout=30)
            long.result(timeout=30)
    assert calls.count(0) == 5 and calls.count(1) == 1 and calls[:2] == [0, 1]


def test_without_a_referee_a_process_measures_alone(tmp_path):
    calls, taken = [], []
    _measure(tmp_path / "nobody-listens", 0, 2, calls, taken)
    assert taken == [False] and calls == [0, 0]
    with taking_turns(None, 0) as taking:
        assert taking is False


def test_two_spawned_round_processes_take_turns_and_both_return_their_records(tmp_path, monkeypatch):
    """The interleaved round as both front ends start it: two fresh processes (another interpreter each),
    one referee; both sides' records come back and the turns alternated while both measured."""
    from auralis_perf.notebook.round_process import measure_round_in_fresh_process, round_request

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("AURALIS_PERF_SUITES", "realtime=against_suite")
    ids = [f"RT-0{i}" for i in range(1, 6)]
    with TurnReferee(tmp_path / "t", first=0) as referee:
        def side(i: int):
            try:
                return measure_round_in_fresh_process(round_request(
                    engine="reference", profile="smoke", category="realtime", group="Real-time factor", ids=ids,
                    index=0, rounds=8, workdir=tmp_path / f"w{i}", audio=(), thresholds=None,
                    turns=(str(referee.path), i)))
            finally:
                referee.retire(i)
        with ThreadPoolExecutor(2) as pool:
            records = [f.result(timeout=300) for f in [pool.submit(side, i) for i in (0, 1)]]
    assert sorted(referee.connected) == [0, 1]
    for side_records in records:
        assert [r.id for r in side_records] == ids
        assert all(r.status in ("pass", "fail") and r.value > 0 for r in side_records if r.id in ("RT-01", "RT-02"))
    # one timed sample per clip and side in this round (RT-01..03), each handing the turn over
    both = [g for g in referee.grants]
    assert both[:6] == [turn_owner(g, 0) for g in range(6)], both


def test_the_report_runs_interleaved_rounds_in_both_kernels_at_once(tmp_path, monkeypatch):
    """run_report.py --against ... --against-round-process interleaved: both kernels start each round's
    process together, every round's two processes took turns, and each side keeps its per-round figures."""
    from auralis_perf.notebook.template import write_generic_notebooks
    from auralis_perf.run import pipeline
    from auralis_perf.run.against import paired_hook
    from auralis_perf.run.against_spec import parse_against
    from auralis_perf.run.cli import parse_config

    notebooks = tmp_path / "notebooks"
    write_generic_notebooks(notebooks)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("AURALIS_PERF_SUITES", "realtime=against_suite")
    out = tmp_path / "run"
    pipeline.run(parse_config(["--engine", "reference", "--against", "reference", "--against-rounds", "2",
                               "--against-round-process", "interleaved", "--profile", "smoke",
                               "--categories", "realtime", "--explain", "none", "--no-progress",
                               "--notebooks", str(notebooks), "--out", str(out)]),
                 baseline_hook=paired_hook(parse_against("reference")))
    for side in (out, out / "against"):
        run = json.loads((side / "results.json").read_text())
        assert run["run"]["against"]["interleaved"] == {"Real-time factor": {"rounds": 2, "taking_turns": 2}}
        rt01 = next(c for c in run["checks"] if c["id"] == "RT-01")
        assert rt01["status"] in ("pass", "fail") and len(rt01["details"]["rounds"]) == 2


def test_a_sides_minimum_sampling_time_leaves_out_the_turns_the_other_side_held(tmp_path):
    """min_time counts this side's own sampling: a fast side beside a slow one still takes about
    min_time / (its own call) samples, not min_time / (both sides' calls)."""
    import time

    counts = {}

    def side(i: int, seconds: float) -> None:
        with taking_turns(str(referee.path), i):
            timing = measure_time(lambda: time.sleep(seconds), warmup=0, repeat=1, min_time=0.2, inner_loops=1)
            counts[i] = timing.n

    with TurnReferee(tmp_path / "t", first=0) as referee:
        with ThreadPoolExecutor(2) as pool:
            for f in [pool.submit(side, 0, 0.02), pool.submit(side, 1, 0.1)]:
                f.result(timeout=60)
    assert counts[0] >= 9 and counts[1] >= 2, counts


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this platform")
def test_both_sides_run_on_the_same_one_cpu_while_taking_turns_and_get_their_cpus_back(tmp_path):
    before = os.sched_getaffinity(0)
    seen: dict[int, set[int]] = {}

    def side(number: int) -> None:
        with taking_turns(str(referee.path), number):
            seen[number] = os.sched_getaffinity(0)
            measure_time(lambda: None, warmup=0, repeat=2, min_time=0.0, inner_loops=1)
        assert os.sched_getaffinity(0) == before

    with TurnReferee(tmp_path / "t", first=0) as referee:
        with ThreadPoolExecutor(2) as pool:
            for f in [pool.submit(side, number) for number in (0, 1)]:
                f.result(timeout=30)
    assert seen[0] == seen[1] == {min(before)}
