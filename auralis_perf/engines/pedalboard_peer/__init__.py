"""The pedalboard peer: a mastering chain comparable to the reference's, built from Spotify's pedalboard.

Per preset (the reference's names and settings: `default`, `gentle`, `warm`, `bright`, `punchy`):
shelving and peaking filters, a compressor, the gain to the preset's loudness measured with pyloudnorm,
and a look-ahead brick-wall limiter. Streaming uses pedalboard's stateful processing (`reset=False`).
It has no music library, no audio cache and no fast/plain kernel pairs, so those checks are skipped.
"""
from auralis_perf.engines.pedalboard_peer.engine import PedalboardEngine

__all__ = ["PedalboardEngine"]
