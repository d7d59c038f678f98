"""The final tuning, made while a stream hands out its first chunks, and where it takes over.

`Refinement` does the work in small steps (one read block of the exact loudness scan, one analysis
window, one limiter run of the gain solve), so a stream spreads it evenly over the chunks before
`settle_frame`; a whole-file master runs it up front. From the settle frame the normalisation gain moves
from the quick value to the final one along a raised-cosine ramp in dB of `RAMP_SECONDS`
(`ChainProcessor.schedule_gain`). The settle frame grows with the track's length (a longer scan is spread
over more chunks), so the work per chunk stays about the same.
"""
from __future__ import annotations

import math
from collections.abc import Iterator

from auralis_perf.engines.reference.chain import ChainProcessor, KernelSet, Reader, Tuning
from auralis_perf.engines.reference.measurement import (
    LoudnessScan,
    SourceLoudness,
    energy_weighted_blocks,
    level_anchors,
)
from auralis_perf.engines.reference.tuning import (
    ANCHOR_QUANTILES,
    FINAL_WINDOWS,
    GAIN_STEPS,
    LIMITER_STEP_COST,
    WHOLE_SOURCE_SECONDS,
    WINDOW_STEP_COST,
    ChainAnalysis,
    fallback_tuning,
    quick_tuning,
    whole_source_tuning,
)
from auralis_perf.engines.support.presets import Preset

SETTLE_SECONDS = 2.0
SETTLE_FRACTION = 1.0 / 30.0
RAMP_SECONDS = 1.0
SCAN_STEP_COST = 1.0


def settle_frame(frames: int, sample_rate: int) -> int:
    """Input frame from which the final gain applies (after a ramp of RAMP_SECONDS)."""
    return round(SETTLE_SECONDS * sample_rate + SETTLE_FRACTION * frames)


def ramp_frames(sample_rate: int) -> int:
    return max(1, round(RAMP_SECONDS * sample_rate))


class Refinement:
    """The final tuning, in small steps: each `step()` is one block of the exact loudness scan, one
    analysis window (drawn from the whole track's blocks), or one limiter run of the gain solve.
    `gain_db` is set once all are done."""

    def __init__(self, analysis: ChainAnalysis, scan: LoudnessScan | SourceLoudness, quick_gain_db: float) -> None:
        """`scan` measures the exact loudness step by step, or is it already (a short source's quick
        loudness is complete); `quick_gain_db` is the gain the frames before the settle frame keep."""
        self.analysis = analysis
        self.scan = scan
        self.quick_gain_db = quick_gain_db
        self.gain_db: float | None = None
        self.details: dict[str, float] = {}
        scan_steps = scan.steps_left if isinstance(scan, LoudnessScan) else 0
        # At most: every gain evaluation counted with a limiter run on every window.
        self._budget = (SCAN_STEP_COST * scan_steps
                        + (WINDOW_STEP_COST + GAIN_STEPS * LIMITER_STEP_COST) * (FINAL_WINDOWS + len(ANCHOR_QUANTILES)))
        self._spent = 0.0
        self._work = self._steps()

    @property
    def done(self) -> bool:
        return self.gain_db is not None

    @property
    def work_left(self) -> float:
        """The cost of the steps left, in step-cost units, at most (the solve usually stops earlier)."""
        return 0.0 if self.done else max(self._budget - self._spent, 0.0)

    def _steps(self) -> Iterator[float]:
        scan = self.scan
        if isinstance(scan, LoudnessScan):
            while scan.steps_left:
                scan.step()
                yield SCAN_STEP_COST
        exact = scan.result() if isinstance(scan, LoudnessScan) else scan
        if not exact.measurable:  # the quick measurement said otherwise: keep its gain
            self.details = {"reason": "exact loudness not measurable"}
            return
        result: dict[str, float] = {}
        picks = energy_weighted_blocks(exact, self.analysis.hop, FINAL_WINDOWS)
        source = self.analysis.source
        held = (self.quick_gain_db, settle_frame(source.frames, source.sample_rate), ramp_frames(source.sample_rate))
        # The quick gain, moved by what the exact loudness corrects, is usually close: fewer limiter runs.
        guess = self.quick_gain_db + self.analysis.reference_lufs - exact.input_lufs
        anchors = level_anchors(exact, self.analysis.hop, ANCHOR_QUANTILES)
        yield from self.analysis.solve(exact, picks, result, anchors, held, guess_db=guess)
        self.details = result

    def step(self) -> float:
        """One step of work; its cost (0.0 once the final gain is known)."""
        if self.done:
            return 0.0
        try:
            cost = next(self._work)
            self._spent += cost
            return cost
        except StopIteration:
            self.gain_db = self.details.get("gain_db", math.nan)
            return 0.0

    def advance(self, budget: float) -> None:
        """Steps until their cost reaches `budget` or the work is done."""
        spent = 0.0
        while spent < budget and not self.done:
            spent += self.step()

    def finish(self) -> float:
        """Every remaining step; the final gain in dB (NaN: keep the quick gain)."""
        self.advance(math.inf)
        return self.gain_db  # type: ignore[return-value]


def exact_loudness(source: Reader, quick: SourceLoudness, compiled: bool) -> LoudnessScan | SourceLoudness:
    """What gives the exact input loudness: the quick measurement when it covered the whole source, else
    a scan to run (step by step, shared by every preset of a stream)."""
    return quick if quick.complete else LoudnessScan(source, compiled)


def plan_tuning(source: Reader, preset: Preset, kernels: KernelSet, quick: SourceLoudness,
                exact: LoudnessScan | SourceLoudness, origin: int = 0) -> tuple[Tuning, Refinement | None]:
    """The tuning a chain that starts at input frame `origin` begins with, and the refinement that moves
    it to the final gain at `settle_frame` (None when no frame is left to move). A chain that starts at
    or after the settle frame (a preset switch late in a stream) begins with the final gain."""
    if not quick.measurable:
        return fallback_tuning(quick), None
    if quick.complete and source.frames <= WHOLE_SOURCE_SECONDS * source.sample_rate:
        return whole_source_tuning(source, preset, kernels, quick), None
    analysis = ChainAnalysis(source, preset, kernels, quick)
    if settle_frame(source.frames, source.sample_rate) >= source.frames:
        try:
            return quick_tuning(analysis), None
        finally:
            analysis.close()
    quick_tuned = quick_tuning(analysis)
    refinement = Refinement(analysis, exact, quick_tuned.gain_db)
    if origin < settle_frame(source.frames, source.sample_rate):
        return quick_tuned, refinement
    try:  # the gain a whole-file master holds from the settle frame on
        gain_db = refinement.finish()
        if math.isfinite(gain_db):
            return Tuning(quick.input_lufs, gain_db, dict(refinement.details, stage="final")), None
        return quick_tuned, None
    finally:
        analysis.close()


def schedule_final(processor: ChainProcessor, refinement: Refinement, source: Reader) -> None:
    """Finish the refinement and schedule its gain on `processor` (nothing changes if it kept the quick one)."""
    gain_db = refinement.finish()
    refinement.analysis.close()
    if math.isfinite(gain_db):
        processor.schedule_gain(gain_db, settle_frame(source.frames, source.sample_rate),
                                ramp_frames(source.sample_rate))
