"""Why a check failed or regressed: an extra, untimed run of its group's workload under a profiler.

    timing.py    a call under pyinstrument -> the top functions by own and total time (+ the HTML call tree)
    memory.py    a call under memray (or tracemalloc) -> the call sites holding memory at the peak
    diff.py      two time profiles -> the functions whose share of the time grew
    select.py    which checks a run explains (--explain all|failing|none), which are timing / memory checks
    budget.py    in which order the chosen checks are profiled, and what --explain-budget leaves out
    child.py     the process that re-runs the groups (python -m auralis_perf.explain.child REQUEST.json)
    step.py      the pipeline step: after the notebooks, one child per engine; explanations into results.json

Nothing here changes a figure or a verdict: every figure was measured (and judged) before any profiler
starts, and the profiled runs' own records are thrown away. An explanation lives in the check record's
`details["explanation"]`, so a run kept in the history carries its profiles for later diffs.
"""
