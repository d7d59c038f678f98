import numpy as np


class ContentAnalyzer:
    def __init__(self, sample_rate=44100, use_ml_classification=True, use_fingerprint_analysis=True):
        self.sample_rate = sample_rate

    def analyze_content(self, audio):
        audio = np.asarray(audio)
        return {"rms": float(np.sqrt(np.mean(audio ** 2))), "peak": float(np.max(np.abs(audio))),
                "genre_info": {"primary": "stand-in"}}
