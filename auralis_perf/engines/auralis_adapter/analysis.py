"""Auralis's analysers behind the protocol's `Analysis.analyze` (and the audio cache's computations).

- "spectrum": `SpectrumAnalyzer.analyze_file` (serial) or `ParallelSpectrumAnalyzer.analyze_file`
  (`parallel=True, workers=N`), on the channel mean. Auralis averages its per-frame band spectra over the
  file, so the result has one row: shape (1, bands) (64 bands by default), not a spectrogram.
- "fingerprint": `AudioFingerprintAnalyzer.analyze` (its 25 named features, a dict).
- "loudness": `LoudnessMeter.measure_chunk` over consecutive 400 ms blocks (its block size), then
  `finalize_measurement`. At 087974e2 the meter keeps only its last 30 blocks (3 s), so its "integrated"
  figure covers the end of the signal, and its final peaks are -inf: the blocks' own peak and true-peak
  readings are reported beside it ("peak_dbfs", "true_peak_dbfs").
- "analysis" (what mastering analyses): `ContentAnalyzer.analyze_content`.
- "waveform": Auralis has no waveform/peak-envelope analysis (NotSupported).

A new analyser is made for every call: Auralis's analysers keep smoothing state between calls.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from auralis_perf.engines.auralis_adapter.api import AuralisAPI
from auralis_perf.engines.auralis_adapter.environment import quiet
from auralis_perf.engines.base import AudioInputError, NotSupported
from auralis_perf.engines.protocols.audio import ANALYSIS_KINDS
from auralis_perf.engines.support.validate import check_audio, check_sample_rate

#: The kinds the adapter can compute, and the Auralis part each needs (see api.PARTS).
PARTS_BY_KIND = {"spectrum": "spectrum_plain", "fingerprint": "fingerprint", "loudness": "loudness",
                 "analysis": "content"}


def _mono(audio: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(audio.mean(axis=1) if audio.ndim == 2 else audio, dtype=np.float64)


def _stereo64(audio: np.ndarray) -> np.ndarray:
    stereo = audio if audio.ndim == 2 and audio.shape[1] == 2 else np.repeat(audio.reshape(len(audio), -1)[:, :1], 2, 1)
    return np.ascontiguousarray(stereo, dtype=np.float64)


def spectrum(api: AuralisAPI, audio: np.ndarray, sample_rate: int, *, parallel: bool = False,
             workers: int | None = None) -> np.ndarray:
    if parallel:
        if not api.has("spectrum_parallel"):
            raise NotSupported(f"this Auralis has no parallel spectrum ({api.why_missing('spectrum_parallel')})")
        analyzer_class, settings_class = api.get("spectrum_parallel")
        settings = settings_class(sample_rate=sample_rate, **({"max_workers": workers} if workers else {}))
    else:
        analyzer_class, settings_class = api.get("spectrum_plain")
        settings = settings_class(sample_rate=sample_rate)
    with quiet():
        result = analyzer_class(settings).analyze_file(_mono(audio), sample_rate)
    if not result:
        raise AudioInputError(f"the signal is shorter than Auralis's spectrum frame ({settings.fft_size} frames)")
    return np.asarray(result["spectrum"], dtype=np.float64)[None, :]


def fingerprint(api: AuralisAPI, audio: np.ndarray, sample_rate: int) -> dict[str, float]:
    (analyzer_class,) = api.get("fingerprint")
    with quiet():
        return dict(analyzer_class().analyze(_stereo64(audio), sample_rate))


def loudness(api: AuralisAPI, audio: np.ndarray, sample_rate: int) -> dict[str, Any]:
    (meter_class,) = api.get("loudness")
    with quiet():
        meter = meter_class(sample_rate)
        block = int(0.4 * sample_rate)
        stereo = _stereo64(audio)
        readings = [meter.measure_chunk(stereo[i:i + block]) for i in range(0, len(stereo), block)]
        final = meter.finalize_measurement()
    figures = dataclasses.asdict(final) if dataclasses.is_dataclass(final) else dict(vars(final))
    figures["peak_dbfs"] = max((r.get("peak_level_dbfs", -np.inf) for r in readings), default=-np.inf)
    figures["true_peak_dbfs"] = max((r.get("true_peak_dbfs", -np.inf) for r in readings), default=-np.inf)
    figures["blocks_fed"] = len(readings)
    return figures


def content(api: AuralisAPI, audio: np.ndarray, sample_rate: int) -> dict[str, Any]:
    (analyzer_class,) = api.get("content")
    with quiet():
        return dict(analyzer_class(sample_rate=sample_rate).analyze_content(_stereo64(audio)))


def analyze(api: AuralisAPI, audio: np.ndarray, sample_rate: int, kind: str, **options: Any) -> Any:
    """The protocol's `analyze`: bad input and unknown kinds are AudioInputError, absent ones NotSupported."""
    if kind not in ANALYSIS_KINDS and kind != "analysis":
        raise AudioInputError(f"unknown analysis kind {kind!r}; kinds: {', '.join(ANALYSIS_KINDS)}")
    checked = check_audio(audio)
    rate = check_sample_rate(sample_rate)
    if kind == "waveform":
        raise NotSupported("Auralis has no waveform (peak envelope) analysis at this commit")
    part = PARTS_BY_KIND[kind]
    if not api.has(part):
        raise NotSupported(f"this Auralis has no {kind} analysis ({api.why_missing(part)})")
    if kind == "spectrum":
        return spectrum(api, checked, rate, parallel=bool(options.get("parallel")), workers=options.get("workers"))
    return {"fingerprint": fingerprint, "loudness": loudness, "analysis": content}[kind](api, checked, rate)
