from dataclasses import dataclass

import numpy as np


@dataclass
class LUFSMeasurement:
    integrated_lufs: float
    momentary_lufs: float
    short_term_lufs: float
    loudness_range: float
    peak_level_dbfs: float
    true_peak_dbfs: float
    gating_blocks_used: int
    measurement_duration: float


class LoudnessMeter:
    """Stand-in: a plain mean-square loudness, no K-weighting (the tests only check the plumbing)."""

    def __init__(self, sample_rate=44100):
        self.sample_rate = sample_rate
        self.block_buffer = []
        self.frames = 0
        self.peak = 0.0

    def measure_chunk(self, audio_chunk):
        chunk = np.asarray(audio_chunk, dtype=np.float64)
        self.block_buffer.append(float(np.mean(chunk ** 2)))
        self.frames += chunk.shape[0]
        self.peak = max(self.peak, float(np.max(np.abs(chunk))))
        return {"block_loudness": -0.691 + 10 * np.log10(self.block_buffer[-1] + 1e-12)}

    def finalize_measurement(self):
        level = -0.691 + 10 * np.log10(np.mean(self.block_buffer) + 1e-12) if self.block_buffer else -np.inf
        peak = 20 * np.log10(self.peak) if self.peak > 0 else -np.inf
        return LUFSMeasurement(level, level, level, 0.0, peak, peak, len(self.block_buffer),
                               self.frames / self.sample_rate)

    def reset(self):
        self.__init__(self.sample_rate)
