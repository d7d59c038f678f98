"""The optimization suite (OPT-01..OPT-20) on the reference engine at tiny sizes, its judges and plots.

No timing assertions: speedups depend on the machine. What is asserted is the shape of every record,
and that the suite turns a fast path that changes the output, or one the pipeline never calls, into a
failing check (engine doubles below), plus the pure helpers (evidence, output difference, SIMD counts).
"""
from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from protocol_double import assert_protocols_only  # noqa: E402
from suite_support import (  # noqa: E402
    assert_groups_match_the_catalogue,
    assert_plots_draw,
    assert_records_well_formed,
    category_records,
    shrunk_smoke_sizes,
)

from auralis_perf.engines import Capability, Engine, KernelPair  # noqa: E402
from auralis_perf.suites import SuiteContext  # noqa: E402
from auralis_perf.suites.common.compare import compare_paths, max_abs_diff  # noqa: E402
from auralis_perf.suites.common.evidence import judge_use  # noqa: E402
from auralis_perf.suites.common.simd import instruction_profile, numba_dispatchers  # noqa: E402
from auralis_perf.suites.optimization import algorithm as opt_algorithm  # noqa: E402
from auralis_perf.suites.optimization import jit as opt_numba  # noqa: E402
from auralis_perf.suites.optimization import parallel as opt_parallel  # noqa: E402
from auralis_perf.suites.optimization import vectorization as opt_vectorization  # noqa: E402

OPT_IDS = [f"OPT-{i:02d}" for i in range(1, 21)]

#: Smoke sizes shrunk further so the whole category runs in seconds (the real ones stay in the modules).
TINY = {
    opt_numba: {"frames": [1024, 4096], "rounds": 3, "throughput_frames": 44100, "fallback_s": 0.25,
                 "fallback_repeats": 1},
    opt_vectorization: {"eq_frames": 8192, "spectrum_frames": 22050, "chain_frames": 4096,
                         "envelope_frames": 8192, "rounds": 3, "float32_frames": 2048},
    opt_parallel: {"analysis_s": 3.0, "busy_s": 0.2, "pool_tracks": 2, "track_s": 0.5, "rounds": 2,
                    "pool_tasks": 3, "safety_rounds": 1, "library_tracks": 200},
    opt_algorithm: {"fft_samples": 2**14, "eq_frames": 8192, "resample_s": 1.0, "convert_s": 1.0,
                     "codec_s": 1.0, "repeat": 3},
}


@pytest.fixture(scope="module")
def tiny_sizes():
    with shrunk_smoke_sizes(TINY):
        yield


@pytest.fixture(scope="module")
def records(tiny_sizes, strict_engine, tmp_path_factory):
    ctx = SuiteContext(engine=strict_engine, profile="smoke", workdir=tmp_path_factory.mktemp("optimization"))
    return category_records(ctx, "optimization")


def test_the_suite_reaches_the_engine_only_through_its_protocols(records, strict_engine):
    assert_protocols_only(records, strict_engine)


def test_groups_match_the_catalogue():
    assert_groups_match_the_catalogue("optimization", ["Numba", "Vectorization", "Parallel", "Algorithm"], OPT_IDS)


def test_every_check_has_a_record_of_the_right_shape(records):
    assert_records_well_formed(records, OPT_IDS)


def test_the_reference_engine_measures_every_check(records):
    not_measured = {i: f"{r.status}: {r.reason}" for i, r in records.items() if r.status not in ("pass", "fail")}
    assert not not_measured


def test_speedups_carry_their_output_difference_and_proof_of_use(records):
    assert records["OPT-01"].details["in_use"] == "in use"
    for row in records["OPT-02"].details["by_size"] + records["OPT-09"].details["table"]:
        assert "max_abs_diff" in row and row["max_abs_diff"] <= row["tolerance"]
    assert records["OPT-05"].details["completed"] and records["OPT-05"].details["slower_x"] > 0
    assert records["OPT-04"].details["cold"] and records["OPT-04"].details["cached"]


def test_parallel_figures_name_the_cores(records):
    for check_id in ("OPT-11", "OPT-12", "OPT-14"):
        assert records[check_id].details["cores"] >= 1
        assert 0 <= records[check_id].details["cores_free"] <= records[check_id].details["cores"]
    assert len(records["OPT-11"].samples) == records["OPT-11"].details["cores"]  # one figure per core


def test_simd_reports_numpy_targets_and_kernel_instructions(records):
    d = records["OPT-08"].details
    assert d["numpy_context"]["in_use"]  # context only: a property of NumPy's build
    assert d["compiled_kernels"], "no compiled kernel of the engine was inspected"
    assert d["compiled_kernels"] and all(k["asm_lines"] > 0 for k in d["compiled_kernels"])


# --------------------------------------------------------------------------------- engine doubles

def _scaled_copy(data):
    return np.asarray(data, dtype=np.float64) * 0.5


try:
    import numba

    @numba.njit(cache=False)
    def _never_called_kernel(x, out):  # compiled only if someone calls it
        for i in range(x.shape[0]):
            out[i] = x[i] * 0.5
except ImportError:  # pragma: no cover - the suite requires Numba for this double
    _never_called_kernel = None


def _run_never_called(data):
    out = np.empty_like(data)
    _never_called_kernel(data, out)
    return out


class DoubleEngine(Engine):
    """An engine whose kernel pairs are deliberately wrong in one way each."""

    name = "double"
    capabilities = frozenset({Capability.MASTER, Capability.STREAM, Capability.KERNELS})

    def __init__(self, fast_error: float = 0.0, compiled_but_unused: bool = False) -> None:
        self.fast_error = fast_error
        self.compiled_but_unused = compiled_but_unused
        self.calls = {"fast": 0}

    def master(self, audio, sample_rate, preset="default", *, optimized=True):
        if not self.compiled_but_unused:
            self.calls["fast"] += 1
        return np.asarray(audio) * 0.5

    def stream(self, source, *, sample_rate=None, chunk_size=4096, preset="default"):
        raise NotImplementedError

    def kernels(self):
        error = self.fast_error
        if self.compiled_but_unused:
            fast = _run_never_called
        else:
            def fast(data):
                return _scaled_copy(data) + error
        return {"envelope": KernelPair(
            name="envelope", description="double", fast=fast, plain=_scaled_copy,
            make_input=lambda audio, sr: np.linspace(-1.0, 1.0, len(audio)), tolerance=1e-9,
            evidence=lambda: {"master_calls_fast": self.calls["fast"]})}


def test_a_fast_path_that_changes_the_output_fails(tiny_sizes, tmp_path):
    ctx = SuiteContext(engine=DoubleEngine(fast_error=1e-6), profile="smoke", workdir=tmp_path)
    r03 = opt_numba.opt03_accuracy(ctx)
    assert r03.status == "fail" and r03.value == pytest.approx(1e-6)
    r02 = opt_numba.opt02_speedup(ctx)
    assert r02.status == "fail"
    assert any("differs" in v for v in r02.violations)


@pytest.mark.skipif(_never_called_kernel is None, reason="Numba is not installed")
def test_a_speedup_of_a_function_the_pipeline_never_calls_is_reported(tiny_sizes, tmp_path):
    ctx = SuiteContext(engine=DoubleEngine(compiled_but_unused=True), profile="smoke", workdir=tmp_path)
    r01 = opt_numba.opt01_throughput(ctx)
    assert r01.details["in_use"] == "not called"
    assert r01.status == "fail" and any("never calls" in v for v in r01.violations)


# ------------------------------------------------------------------------------------ pure helpers

def test_judge_use_reads_counters_and_compiled_signatures():
    grown = judge_use({"calls": 1}, {"calls": 3}, {"kernel": ["(float64[:],)"]})
    assert grown["status"] == "in use"
    never_compiled = judge_use({"calls": 1}, {"calls": 3}, {"kernel": []})
    assert never_compiled["status"] == "not called"  # counters of *a* fast path grew, not of this one
    not_grown = judge_use({"calls": 2}, {"calls": 2}, {})
    assert not_grown["status"] == "not called"
    assert judge_use(None, None, {})["status"] == "unknown"
    assert judge_use(None, {"compiled_signatures": ["x"]}, {})["status"] == "compiled only"


def test_max_abs_diff_over_arrays_and_containers():
    a = np.array([0.0, 1.0, np.nan])
    assert max_abs_diff(a, a.copy()) == 0.0
    assert max_abs_diff(np.array([1.0, 2.0]), np.array([1.0, 2.5])) == 0.5
    assert max_abs_diff(np.zeros(3), np.zeros(4)) == float("inf")
    assert max_abs_diff({"x": np.ones(2), "y": [1.0, 2.0]}, {"x": np.ones(2), "y": [1.0, 2.25]}) == 0.25
    assert max_abs_diff(np.array([1 + 1j]), np.array([1 + 2j])) == 1.0


def test_compare_paths_pairs_rounds_and_reports_the_difference():
    comparison = compare_paths(lambda: np.ones(10), lambda: np.ones(10) + 1e-3, rounds=4, units=10.0)
    assert len(comparison.fast.samples) == len(comparison.plain.samples) == len(comparison.speedups) == 4
    assert comparison.max_abs_diff == pytest.approx(1e-3) and not comparison.within_tolerance


def test_instruction_profile_counts_packed_and_scalar_code():
    asm = """
        vmulpd  %ymm1, %ymm0, %ymm2
        vaddpd  %zmm3, %zmm4, %zmm5
        vfmadd231pd %xmm1, %xmm2, %xmm3
        vmulsd  %xmm0, %xmm1, %xmm1
        addss   %xmm2, %xmm3
        movq    %rax, %rbx
    """
    profile = instruction_profile(asm)
    assert profile["packed"] == 3 and profile["scalar"] == 2
    assert profile["packed_by_register"] == {"xmm (128-bit)": 1, "ymm (256-bit)": 1, "zmm (512-bit)": 1}


@pytest.mark.skipif(_never_called_kernel is None, reason="Numba is not installed")
def test_numba_dispatchers_are_found_behind_wrappers():
    def wrapper(data):
        return _run_never_called(data)

    found = numba_dispatchers(lambda data: wrapper(data))
    assert found and found[0].py_func.__name__ == "_never_called_kernel"


@pytest.mark.skipif(_never_called_kernel is None, reason="Numba is not installed")
def test_numba_dispatchers_are_found_through_a_class_the_kernel_builds():
    class Follower:  # as Auralis's envelope pair: `lambda data: Follower(...).process(data)`
        def __init__(self, gain):
            self.gain = gain

        def process(self, data):
            return self.compiled(data)

        def compiled(self, data):  # the method that names the module's compiled function
            out = np.empty_like(data)
            _never_called_kernel(data, out)
            return out

    found = numba_dispatchers(lambda data: Follower(1.0).process(data))
    assert [d.py_func.__name__ for d in found] == ["_never_called_kernel"]


def test_fft_lengths_cover_powers_fast_lengths_and_primes():
    rows = opt_algorithm.fft_lengths((1024,))
    kinds = {kind: n for kind, n in rows}
    assert kinds["power of two"] == 1024 and kinds["prime"] == 1021
    n = kinds["fast length (2-3-5)"]
    for p in (2, 3, 5):
        while n % p == 0:
            n //= p
    assert n == 1


def test_plots_and_tables_draw_from_the_records(records, tmp_path):
    from auralis_perf.notebook.helper import NotebookRun
    from auralis_perf.notebook.plots import optimization as opt_plots

    assert_plots_draw("optimization", records, tmp_path, (opt_plots.plot_numba, opt_plots.plot_vectorization,
                                                           opt_plots.plot_parallel, opt_plots.plot_algorithms))
    run = NotebookRun("optimization", profile="smoke", workdir=tmp_path, show=False)
    run.records.update(records)
    assert len(opt_plots.kernel_table(run)) >= 3
    tables = opt_plots.algorithm_tables(run)
    assert set(tables) == {"OPT-16", "OPT-17", "OPT-18", "OPT-19", "OPT-20"}
    assert tables and all(not t.empty for t in tables.values())
