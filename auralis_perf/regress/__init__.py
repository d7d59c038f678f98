"""Verdicts against a baseline (improved / regressed / unchanged / inconclusive), trend plots, report section."""
from .normalise import NormalisationError, speed_ratio
from .rules import rule_for
from .verdicts import MAX_SPREAD, MIN_SAMPLES, VERDICTS, Comparison, Verdict, compare, judge_samples

__all__ = ["Comparison", "MAX_SPREAD", "MIN_SAMPLES", "NormalisationError", "VERDICTS", "Verdict", "compare",
           "judge_samples", "rule_for", "speed_ratio"]
