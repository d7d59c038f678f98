import os

from auralis.dsp.eq.parallel_eq_processor import VectorizedEQProcessor

GAINS = {"adaptive": 0.5, "gentle": 0.25, "warm": 0.3, "bright": 0.4, "punchy": 0.6}
CALLS = []


class _OptimizerConfig:
    enable_caching = True


class _Optimizer:
    def __init__(self):
        self.config = _OptimizerConfig()


class HybridProcessor:
    def __init__(self, config):
        self.config = config
        self.performance_optimizer = _Optimizer()
        os.makedirs(os.path.join(os.path.expanduser("~"), ".auralis", "preferences"), exist_ok=True)

    def process(self, target):
        CALLS.append(("process", type(target).__name__, getattr(target, "dtype", None),
                      getattr(target, "shape", None), self.config.mastering_profile,
                      self.config.internal_sample_rate, self.performance_optimizer.config.enable_caching))
        print("[stand-in] mastering")
        VectorizedEQProcessor().apply_eq_gains_vectorized(target[:8], None, None, 8)
        return target * GAINS[self.config.mastering_profile]

    def process_realtime_chunk(self, chunk):
        CALLS.append(("chunk", chunk.shape))
        if os.environ.get("STAND_IN_FAIL_CHUNKS"):
            return chunk  # as Auralis does when something inside fails
        return chunk * 0.5
