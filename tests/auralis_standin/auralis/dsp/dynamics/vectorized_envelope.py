import numpy as np


class VectorizedEnvelopeFollower:
    def __init__(self, sample_rate, attack_ms, release_ms, use_numba=True):
        self.a = np.exp(-1.0 / (attack_ms * 0.001 * sample_rate))
        self.r = np.exp(-1.0 / (release_ms * 0.001 * sample_rate))

    def process_buffer_vectorized(self, levels):
        out, env = np.zeros(len(levels)), 0.0
        for i, x in enumerate(levels):
            env = x + (env - x) * (self.a if x > env else self.r)
            out[i] = env
        return out

    def process_buffer_numba(self, levels):
        return self.process_buffer_vectorized(levels)

    def process_buffer(self, levels):
        return self.process_buffer_numba(levels)
