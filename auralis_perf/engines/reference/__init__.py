"""The reference engine: a real, compact mastering engine that runs anywhere (NumPy, SciPy, Numba).

Chain per preset (`default`, `gentle`, `warm`, `bright`, `punchy`): an 11-section EQ (a subsonic
high-pass, two shelves, eight peaks) as second-order sections, a stereo-linked feed-forward compressor
with a compiled attack/release envelope follower, loudness normalisation to the preset's target per
ITU-R BS.1770, and a look-ahead true-peak limiter: its ceiling holds for the samples and for the values
between them (4x oversampled detection, as BS.1770-4 defines true peak). Whole-file mastering is the
streaming path run over the whole input, so both give the same samples.

Every optimisation keeps its plain form selectable (`master(..., optimized=False)`, `kernels()`), and the
engine runs on the plain forms when Numba cannot be imported.

Regression self-test switch: set the environment variable ``AURALIS_PERF_SLOW_KERNEL=envelope`` (before
the chain is built) and the envelope follower does deliberately more work (it runs three times per block
and keeps the last result; ``envelope:10``, ten times), so a run can demonstrate that the regression check catches a slower kernel.
Off by default; the output is unchanged.
"""
from auralis_perf.engines.reference.engine import ReferenceEngine
from auralis_perf.engines.reference.mastering import master_array

__all__ = ["ReferenceEngine", "master_array"]
