"""The chain's per-sample kernels, each written once in plain Python and compiled with Numba when present.

`PLAIN_*` names are the interpreted source (the slow path kept on purpose); `FAST_*` names are the
compiled twins (None without Numba). The EQ's plain path is different on purpose: SciPy's `sosfilt`
applied band by band, as the optimisation it is compared with is "all sections in one pass".

Array layouts (all C-contiguous): audio (frames, channels); SOS (sections, 6) normalised so a0 == 1;
EQ state (sections, 2, channels), the layout of `scipy.signal.sosfilt(..., axis=0, zi=...)`.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import signal

from .jit import compiled


def sos_cascade(x, out, sos, state, peak):  # type: ignore[no-untyped-def]
    """All EQ sections in one pass (transposed direct form II, as scipy's sosfilt).

    Writes the float64 result to `out` and the per-frame peak over channels (the compressor's
    stereo-linked detector) to `peak`; updates `state` in place.
    """
    n_frames, n_channels = x.shape
    n_sections = sos.shape[0]
    for i in range(n_frames):
        frame_peak = 0.0
        for c in range(n_channels):
            value = float(x[i, c])
            for s in range(n_sections):
                y = sos[s, 0] * value + state[s, 0, c]
                state[s, 0, c] = sos[s, 1] * value - sos[s, 4] * y + state[s, 1, c]
                state[s, 1, c] = sos[s, 2] * value - sos[s, 5] * y
                value = y
            out[i, c] = value
            if abs(value) > frame_peak:
                frame_peak = abs(value)
        peak[i] = frame_peak


def eq_band_by_band(x, out, sos, state, peak):  # type: ignore[no-untyped-def]
    """The plain EQ: one `sosfilt` call per band, each keeping its own state (same result as above)."""
    y = np.asarray(x, dtype=np.float64)
    for s in range(sos.shape[0]):
        y, state[s:s + 1] = signal.sosfilt(sos[s:s + 1], y, axis=0, zi=state[s:s + 1])
    out[...] = y
    np.max(np.abs(y), axis=1, out=peak)


def envelope_follower(level, out, attack, release, state):  # type: ignore[no-untyped-def]
    """Attack/release envelope of a non-negative level signal: a one-pole smoother whose coefficient is
    `attack` while the level rises above the envelope and `release` while it falls. `state[0]` carries
    the envelope across chunks."""
    env = state[0]
    for i in range(level.shape[0]):
        value = level[i]
        coef = attack if value > env else release
        env = value + coef * (env - value)
        out[i] = env
    state[0] = env


def compressor_gain(env, gain, knee_start, threshold_db, slope, knee_db, makeup):  # type: ignore[no-untyped-def]
    """Soft-knee gain computer: `slope` = 1/ratio - 1; levels under `knee_start` (linear) get unity."""
    half_knee = 0.5 * knee_db
    for i in range(env.shape[0]):
        level = env[i]
        if level <= knee_start:
            gain[i] = makeup
            continue
        over = 20.0 * math.log10(level) - threshold_db
        if over < half_knee:
            reduction_db = slope * (over + half_knee) * (over + half_knee) / (2.0 * knee_db)
        else:
            reduction_db = slope * over
        gain[i] = makeup * 10.0 ** (reduction_db / 20.0)


def compressor_gain_numpy(env, gain, knee_start, threshold_db, slope, knee_db, makeup):  # type: ignore[no-untyped-def]
    """The gain computer vectorised with NumPy: the fallback when Numba is missing (same formula)."""
    level_db = 20.0 * np.log10(np.maximum(env, 1e-30))
    over = level_db - threshold_db
    half_knee = 0.5 * knee_db
    reduction = np.where(over < half_knee, slope * (over + half_knee) ** 2 / (2.0 * knee_db), slope * over)
    np.multiply(makeup, 10.0 ** (reduction / 20.0), out=gain)
    gain[env <= knee_start] = makeup


def limiter(work, gain, out, ceiling, release, delay, box, dq_value, dq_index, istate, fstate):  # type: ignore[no-untyped-def]
    """Look-ahead peak limiter; output frame i is input frame i - D (D = len(delay)).

    Per frame: the gain each frame needs (ceiling / peak) goes through a running minimum over the next
    D + 1 frames (a monotonic queue), an exponential release towards unity that never rises above that
    minimum, then a (D + 1)-frame moving average. Every gain averaged for an output frame is at most the
    gain that frame needs, so the ceiling holds; the final clamp only catches rounding.
    State: delay (D, C) gained frames; box (D + 1,) recent smoothed gains; dq_value/dq_index the queue;
    istate [frame counter, queue head, queue length]; fstate [box sum, smoothed gain].
    """
    n_frames, n_channels = work.shape
    lookahead = delay.shape[0]
    window = box.shape[0]
    t = istate[0]
    head = istate[1]
    count = istate[2]
    box_sum = fstate[0]
    smooth = fstate[1]
    for i in range(n_frames):
        frame_gain = gain[i]
        frame_peak = 0.0
        for c in range(n_channels):
            magnitude = abs(work[i, c] * frame_gain)
            if magnitude > frame_peak:
                frame_peak = magnitude
        needed = ceiling / frame_peak if frame_peak > ceiling else 1.0
        if count > 0 and dq_index[head] <= t - window:
            head = (head + 1) % window
            count -= 1
        while count > 0 and dq_value[(head + count - 1) % window] >= needed:
            count -= 1
        slot = (head + count) % window
        dq_value[slot] = needed
        dq_index[slot] = t
        count += 1
        smooth = 1.0 - release * (1.0 - smooth)
        if dq_value[head] < smooth:
            smooth = dq_value[head]
        box_slot = t % window
        box_sum += smooth - box[box_slot]
        box[box_slot] = smooth
        applied = box_sum / window
        delay_slot = t % lookahead
        for c in range(n_channels):
            delayed = delay[delay_slot, c]
            delay[delay_slot, c] = work[i, c] * frame_gain
            y = delayed * applied
            if y > ceiling:
                y = ceiling
            elif y < -ceiling:
                y = -ceiling
            out[i, c] = y
        t += 1
    istate[0] = t
    istate[1] = head
    istate[2] = count
    fstate[0] = box_sum
    fstate[1] = smooth


FAST_SOS_CASCADE = compiled(sos_cascade)
FAST_ENVELOPE = compiled(envelope_follower)
FAST_COMPRESSOR_GAIN = compiled(compressor_gain)
FAST_LIMITER = compiled(limiter)
