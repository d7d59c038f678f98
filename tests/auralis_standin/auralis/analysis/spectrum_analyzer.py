from dataclasses import dataclass

import numpy as np


@dataclass
class SpectrumSettings:
    fft_size: int = 4096
    sample_rate: int = 44100
    frequency_bands: int = 64


class SpectrumAnalyzer:
    def __init__(self, settings=None):
        self.settings = settings or SpectrumSettings()

    def analyze_file(self, audio_data, sample_rate=None):
        mono = np.asarray(audio_data, dtype=np.float64)
        mono = mono.mean(axis=1) if mono.ndim == 2 else mono
        return {"spectrum": np.abs(np.fft.rfft(mono[:126]))[:self.settings.frequency_bands].tolist(),
                "frequency_bins": list(range(self.settings.frequency_bands))}
