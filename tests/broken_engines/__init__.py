"""Engine doubles for tests/test_check_can_fail.py: the reference engine with one fault each.

Every double is an `auralis_perf.engines.Engine` that delegates to a reference engine it builds itself
and overrides the one call it breaks (`base.DelegatingEngine`); it reaches the harness only through the
engine protocol. A double's name is its import path, so the checks that rebuild the engine in a fresh
process (RT-20, MEM-13, OPT-05, ...) rebuild the double, as long as this folder is on PYTHONPATH.
"""
