from dataclasses import dataclass

from auralis.analysis.spectrum_analyzer import SpectrumAnalyzer, SpectrumSettings


@dataclass
class ParallelSpectrumSettings(SpectrumSettings):
    max_workers: int = 8


class ParallelSpectrumAnalyzer(SpectrumAnalyzer):
    def __init__(self, settings=None):
        super().__init__(settings or ParallelSpectrumSettings())
