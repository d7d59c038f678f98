"""Fresh-process measurements: results come back as JSON, failures are explained, Numba can be blocked."""
import pytest

from auralis_perf.measure import SubprocessFailed, run_in_subprocess, run_isolated
from auralis_perf.measure.stats import describe, quantile


def test_code_result_by_emit_and_by_variable():
    assert run_in_subprocess("print('noise'); emit({'a': [1, 2]})") == {"a": [1, 2]}
    assert run_in_subprocess("result = 6 * 7") == 42
    assert run_in_subprocess("x = 1") is None


def test_child_is_fresh_and_costs_are_reported():
    run = run_isolated("import sys; emit(sorted(m for m in sys.modules if m.startswith('auralis_perf')))")
    assert run.result == []  # the harness is not imported before the measured code
    assert run.peak_rss_mb >= run.end_rss_mb > 0 and run.process_s >= run.wall_s >= 0


def test_numba_blocked_in_child():
    code = """
try:
    import numba
    emit({"imported": True})
except ImportError as error:
    emit({"imported": False, "error": type(error).__name__, "message": str(error)})
"""
    blocked = run_in_subprocess(code, block_numba=True)
    assert blocked["imported"] is False
    assert blocked["error"] == "ModuleNotFoundError"
    assert "blocked" in blocked["message"]
    with pytest.raises(SubprocessFailed) as raised:
        run_in_subprocess("from numba import njit", block_numba=True)
    assert raised.value.error_type == "ModuleNotFoundError"


def test_importable_function_with_arguments_and_numpy_result():
    assert run_in_subprocess(quantile, args=([1.0, 2.0, 4.0], 0.75)) == 3.0
    stats = run_in_subprocess(describe, args=([3.0, 1.0, 2.0],))  # a dataclass comes back as a dict
    assert stats["median"] == 2.0 and stats["n"] == 3
    assert run_in_subprocess("import numpy as np; result = np.arange(3)") == [0, 1, 2]


def test_env_is_passed_and_errors_are_explained():
    assert run_in_subprocess("import os; result = os.environ['AURALIS_TEST_KNOB']", env={"AURALIS_TEST_KNOB": "x"}) == "x"
    with pytest.raises(SubprocessFailed, match="ZeroDivisionError") as raised:
        run_in_subprocess("1 / 0")
    assert "ZeroDivisionError" in raised.value.child_traceback
    with pytest.raises(ValueError, match="cannot be imported"):
        run_in_subprocess(lambda: 1)
    with pytest.raises(SubprocessFailed, match="timed out"):
        run_in_subprocess("import time; time.sleep(5)", timeout=0.5)
