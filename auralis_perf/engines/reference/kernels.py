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

from auralis_perf.engines.reference.jit import compiled, compiled_contract

#: 20 / ln(10): dB per neper of amplitude.
DB_PER_NEPER = 20.0 / math.log(10.0)


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


def _biquad_stereo(b0, b1, b2, a1, a2, left, right, z0l, z1l, z0r, z1r):  # type: ignore[no-untyped-def]
    """One biquad section, transposed direct form II, on one stereo frame: (yl, yr) and the new state.
    `(b1*x + z1) - a1*y` keeps only one multiply-add on the sample-to-sample dependency chain."""
    yl = b0 * left + z0l
    yr = b0 * right + z0r
    z0l = (b1 * left + z1l) - a1 * yl
    z0r = (b1 * right + z1r) - a1 * yr
    z1l = b2 * left - a2 * yl
    z1r = b2 * right - a2 * yr
    return yl, yr, z0l, z1l, z0r, z1r


def _three_sections_stereo(src, out, sos, state, first, peak, with_peak):  # type: ignore[no-untyped-def]
    """Sections first..first+2 over a stereo block, every coefficient and state in a local variable.

    Locals let the compiler keep the filter state in registers instead of storing and reloading it each
    sample (arrays may alias, so it cannot otherwise); each section is one `_biquad_stereo` step, which
    the compiler inlines.
    """
    f = first
    b0a, b1a, b2a, a1a, a2a = sos[f, 0], sos[f, 1], sos[f, 2], sos[f, 4], sos[f, 5]
    b0b, b1b, b2b, a1b, a2b = sos[f + 1, 0], sos[f + 1, 1], sos[f + 1, 2], sos[f + 1, 4], sos[f + 1, 5]
    b0c, b1c, b2c, a1c, a2c = sos[f + 2, 0], sos[f + 2, 1], sos[f + 2, 2], sos[f + 2, 4], sos[f + 2, 5]
    za0l, za1l, za0r, za1r = state[f, 0, 0], state[f, 1, 0], state[f, 0, 1], state[f, 1, 1]
    zb0l, zb1l, zb0r, zb1r = state[f + 1, 0, 0], state[f + 1, 1, 0], state[f + 1, 0, 1], state[f + 1, 1, 1]
    zc0l, zc1l, zc0r, zc1r = state[f + 2, 0, 0], state[f + 2, 1, 0], state[f + 2, 0, 1], state[f + 2, 1, 1]
    for i in range(src.shape[0]):
        left = float(src[i, 0])
        right = float(src[i, 1])
        yl, yr, za0l, za1l, za0r, za1r = _BIQUAD(b0a, b1a, b2a, a1a, a2a, left, right,
                                                 za0l, za1l, za0r, za1r)
        left, right = yl, yr
        yl, yr, zb0l, zb1l, zb0r, zb1r = _BIQUAD(b0b, b1b, b2b, a1b, a2b, left, right,
                                                 zb0l, zb1l, zb0r, zb1r)
        left, right = yl, yr
        yl, yr, zc0l, zc1l, zc0r, zc1r = _BIQUAD(b0c, b1c, b2c, a1c, a2c, left, right,
                                                 zc0l, zc1l, zc0r, zc1r)
        out[i, 0] = yl
        out[i, 1] = yr
        if with_peak:
            peak[i] = max(abs(yl), abs(yr))
    state[f, 0, 0], state[f, 1, 0], state[f, 0, 1], state[f, 1, 1] = za0l, za1l, za0r, za1r
    state[f + 1, 0, 0], state[f + 1, 1, 0], state[f + 1, 0, 1], state[f + 1, 1, 1] = zb0l, zb1l, zb0r, zb1r
    state[f + 2, 0, 0], state[f + 2, 1, 0], state[f + 2, 0, 1], state[f + 2, 1, 1] = zc0l, zc1l, zc0r, zc1r


def sos_cascade_stereo(x, out, sos, state, peak):  # type: ignore[no-untyped-def]
    """The stereo EQ: sections three at a time (`sos` padded to a multiple of three with identity
    sections, see filters.pad_sections), in place over `out` after the first pass; peak from the last."""
    passes = sos.shape[0] // 3
    _SECTIONS(x, out, sos, state, 0, peak, passes == 1)
    for p in range(1, passes):
        _SECTIONS(out, out, sos, state, 3 * p, peak, p == passes - 1)


def k_energy(x, sos, state, measure, hop, accumulator, energies):  # type: ignore[no-untyped-def]
    """K-weighting (`sos`) and 100 ms sub-block energies in one pass, for the loudness meter.

    accumulator = [energy so far, frames so far] of the sub-block being filled; complete sub-blocks'
    mean squares (channel-summed) are written to `energies`; returns how many. With `measure` false the
    frames only settle the filter state (pre-roll).
    """
    n_frames, n_channels = x.shape
    total = accumulator[0]
    filled = int(accumulator[1])
    written = 0
    for i in range(n_frames):
        power = 0.0
        for c in range(n_channels):
            value = float(x[i, c])
            for s in range(sos.shape[0]):
                y = sos[s, 0] * value + state[s, 0, c]
                state[s, 0, c] = sos[s, 1] * value - sos[s, 4] * y + state[s, 1, c]
                state[s, 1, c] = sos[s, 2] * value - sos[s, 5] * y
                value = y
            power += value * value
        if measure:
            total += power
            filled += 1
            if filled == hop:
                energies[written] = total / hop
                written += 1
                total = 0.0
                filled = 0
    accumulator[0] = total
    accumulator[1] = filled
    return written


def k_energy_stereo(x, sos, state, measure, hop, accumulator, energies):  # type: ignore[no-untyped-def]
    """`k_energy` for the two-section K-weighting on stereo, the state in locals (see above)."""
    b0a, b1a, b2a, a1a, a2a = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    b0b, b1b, b2b, a1b, a2b = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    za0l, za1l, za0r, za1r = state[0, 0, 0], state[0, 1, 0], state[0, 0, 1], state[0, 1, 1]
    zb0l, zb1l, zb0r, zb1r = state[1, 0, 0], state[1, 1, 0], state[1, 0, 1], state[1, 1, 1]
    total = accumulator[0]
    filled = int(accumulator[1])
    written = 0
    for i in range(x.shape[0]):
        left = float(x[i, 0])
        right = float(x[i, 1])
        yl, yr, za0l, za1l, za0r, za1r = _BIQUAD(b0a, b1a, b2a, a1a, a2a, left, right,
                                                 za0l, za1l, za0r, za1r)
        left, right = yl, yr
        yl, yr, zb0l, zb1l, zb0r, zb1r = _BIQUAD(b0b, b1b, b2b, a1b, a2b, left, right,
                                                 zb0l, zb1l, zb0r, zb1r)
        if measure:
            total += yl * yl + yr * yr
            filled += 1
            if filled == hop:
                energies[written] = total / hop
                written += 1
                total = 0.0
                filled = 0
    state[0, 0, 0], state[0, 1, 0], state[0, 0, 1], state[0, 1, 1] = za0l, za1l, za0r, za1r
    state[1, 0, 0], state[1, 1, 0], state[1, 0, 1], state[1, 1, 1] = zb0l, zb1l, zb0r, zb1r
    accumulator[0] = total
    accumulator[1] = filled
    return written


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
    """Soft-knee gain computer: `slope` = 1/ratio - 1; levels under `knee_start` (linear) get unity.

    Works in natural-log units (one log and one exp per sample over the knee) with the dB constants
    folded in: 20*log10(x) = DB_PER_NEPER * ln(x).
    """
    half_knee = 0.5 * knee_db
    for i in range(env.shape[0]):
        level = env[i]
        if level <= knee_start:
            gain[i] = makeup
            continue
        over = DB_PER_NEPER * math.log(level) - threshold_db
        if over < half_knee:
            reduction_db = slope * (over + half_knee) * (over + half_knee) / (2.0 * knee_db)
        else:
            reduction_db = slope * over
        gain[i] = makeup * math.exp(reduction_db / DB_PER_NEPER)


def compressor_gain_numpy(env, gain, knee_start, threshold_db, slope, knee_db, makeup):  # type: ignore[no-untyped-def]
    """The gain computer vectorised with NumPy: the fallback when Numba is missing (same formula)."""
    over = DB_PER_NEPER * np.log(np.maximum(env, 1e-30)) - threshold_db
    half_knee = 0.5 * knee_db
    reduction = np.where(over < half_knee, slope * (over + half_knee) ** 2 / (2.0 * knee_db), slope * over)
    np.multiply(makeup, np.exp(reduction / DB_PER_NEPER), out=gain)
    gain[env <= knee_start] = makeup


#: True-peak detection (ITU-R BS.1770-4, annex 2): the signal oversampled 4x by a polyphase FIR of
#: TRUE_PEAK_TAPS taps per phase. Interpolating between frames n and n + 1 needs frames up to n + 6,
#: so the limiter's detector runs TRUE_PEAK_DELAY frames behind its input.
TRUE_PEAK_OVERSAMPLING = 4
TRUE_PEAK_TAPS = 20
TRUE_PEAK_DELAY = TRUE_PEAK_TAPS // 2


def true_peak_phases() -> np.ndarray:
    """The interpolator's phases 1..3 as a (3, TRUE_PEAK_TAPS) array; row p - 1 gives the value p/4 of
    the way from frame n to n + 1 from frames n - 5 .. n + 6 (oldest first).

    A windowed sinc whose cut-off is the input's Nyquist frequency: its zeros fall on every 4th tap,
    so phase 0 is the input itself and only the three in-between phases need computing.
    """
    length = TRUE_PEAK_OVERSAMPLING * TRUE_PEAK_TAPS + 1  # odd: a centre tap, phase 0 exact
    h = signal.firwin(length, 1.0 / TRUE_PEAK_OVERSAMPLING, window=("kaiser", 5.0)) * TRUE_PEAK_OVERSAMPLING
    centre = length // 2
    phases = np.empty((TRUE_PEAK_OVERSAMPLING - 1, TRUE_PEAK_TAPS))
    for p in range(1, TRUE_PEAK_OVERSAMPLING):
        for j in range(TRUE_PEAK_TAPS):
            # frame n - 5 + j sits (j - 5) frames from n: its tap is p + centre - 4 (j - 5)
            phases[p - 1, j] = h[p + centre - TRUE_PEAK_OVERSAMPLING * (j - (TRUE_PEAK_DELAY - 1))]
    return phases


def limiter(work, gain, out, ceiling, release, delay, box, dq_value, dq_index, istate, fstate, taps,  # type: ignore[no-untyped-def]
            history):
    """Look-ahead true-peak limiter; output frame i is input frame i - len(delay).

    `work` is a tuple of per-channel 1-D arrays (views of a (frames, channels) array): the channel count
    is then part of the compiled signature, so the loops over channels unroll and the frame's samples
    stay in registers (a quarter less time per frame than with a 2-D array). `out` is (frames, channels).

    Detection: each gained frame goes into `history` (channels, 2 * T), written twice (at slot and
    slot + T) so the last T frames are always one contiguous run; the peak of frame m = t - T/2 is the
    largest of its samples and of the 4x-oversampled values (`taps`, see true_peak_phases) on both
    sides of it, over channels. While no sample in the history exceeds ceiling / bound (`fstate[3]`, the
    largest sum of |taps| of a phase), no interpolated value can exceed the ceiling: the filter is skipped.

    Gain: the gain each detected frame needs (ceiling / peak) goes through a running minimum over the
    last S = len(dq_value) = W + T frames (a monotonic queue in a ring), an exponential release towards
    unity that never rises above that minimum, then a W-frame moving average (W = len(box)). The audio
    is delayed by W - 1 + T frames, so every gain averaged for an output frame is at most the gain
    needed by each frame within T/2 of it: the frames whose interpolated values that frame's samples
    take part in. The ceiling then holds for samples and for the points between them, up to the gain's
    change over those few frames; the final clamp only catches rounding.
    State: delay (W - 1 + T, C) gained frames; box (W,) recent smoothed gains; dq_value/dq_index
    (S,) the queue; istate [frame counter, queue head, queue length, ring position, delay slot, history
    slot, frames left with a loud sample in the history]; fstate [box sum, smoothed gain, peak between the previous two detected frames, bound].
    Ring positions wrap by comparison, not modulo (integer division is slow in this loop).
    """
    n_frames = work[0].shape[0]
    n_channels = len(work)
    lookahead = delay.shape[0]
    window = box.shape[0]
    span = dq_value.shape[0]
    n_taps = taps.shape[1]      # taps has the 3 in-between phases of a 4x interpolator
    centre = n_taps // 2 - 1     # offset in the history run of the detected frame
    t = istate[0]
    head = istate[1]
    count = istate[2]
    ring = istate[3]            # position in box (0..window-1); queue positions run over 0..span-1
    delay_slot = istate[4]
    slot = istate[5]            # history slot written last
    hot = istate[6]             # frames left with a sample above `reach` in the history
    box_sum = fstate[0]
    smooth = fstate[1]
    before = fstate[2]          # true peak between the previous detected frame and this one
    bound = fstate[3]
    reach = ceiling / bound     # a history whose samples all stay under this cannot interpolate over the ceiling
    for i in range(n_frames):
        frame_gain = gain[i]
        slot += 1
        if slot == n_taps:
            slot = 0
        for c in range(n_channels):
            value = work[c][i] * frame_gain
            history[c, slot] = value
            history[c, slot + n_taps] = value
            if abs(value) > reach:
                hot = n_taps  # the interpolator may overshoot while this frame is in its history
        loud = hot > 0
        if loud:
            hot -= 1
        frame_peak = 0.0
        for c in range(n_channels):
            magnitude = abs(history[c, slot + 1 + centre])
            if magnitude > frame_peak:
                frame_peak = magnitude
        after = 0.0
        if loud:
            for c in range(n_channels):
                # the three phases side by side: independent sums the processor can overlap
                quarter = 0.0
                half = 0.0
                three_quarters = 0.0
                for j in range(n_taps):
                    value = history[c, slot + 1 + j]
                    quarter += taps[0, j] * value
                    half += taps[1, j] * value
                    three_quarters += taps[2, j] * value
                after = max(after, abs(quarter), abs(half), abs(three_quarters))
        if before > frame_peak:
            frame_peak = before
        if after > frame_peak:
            frame_peak = after
        before = after
        needed = ceiling / frame_peak if frame_peak > ceiling else 1.0
        if count > 0 and dq_index[head] <= t - span:
            head += 1
            if head == span:
                head = 0
            count -= 1
        while count > 0:
            back = head + count - 1
            if back >= span:
                back -= span
            if dq_value[back] < needed:
                break
            count -= 1
        queue_slot = head + count
        if queue_slot >= span:
            queue_slot -= span
        dq_value[queue_slot] = needed
        dq_index[queue_slot] = t
        count += 1
        smooth = 1.0 - release * (1.0 - smooth)
        if dq_value[head] < smooth:
            smooth = dq_value[head]
        box_sum += smooth - box[ring]
        box[ring] = smooth
        ring += 1
        if ring == window:
            ring = 0
        applied = box_sum / window
        for c in range(n_channels):
            delayed = delay[delay_slot, c]
            delay[delay_slot, c] = history[c, slot + n_taps]
            out[i, c] = min(max(delayed * applied, -ceiling), ceiling)
        delay_slot += 1
        if delay_slot == lookahead:
            delay_slot = 0
        t += 1
    istate[0] = t
    istate[1] = head
    istate[2] = count
    istate[3] = ring
    istate[4] = delay_slot
    istate[5] = slot
    istate[6] = hot
    fstate[0] = box_sum
    fstate[1] = smooth
    fstate[2] = before


FAST_SOS_CASCADE = compiled_contract(sos_cascade)
# The compiled kernels call the compiled helpers: Numba resolves these globals when it compiles them.
_BIQUAD = compiled_contract(_biquad_stereo) or _biquad_stereo
_SECTIONS = compiled_contract(_three_sections_stereo) or _three_sections_stereo
FAST_SOS_CASCADE_STEREO = compiled_contract(sos_cascade_stereo)
FAST_K_ENERGY = compiled_contract(k_energy)
FAST_K_ENERGY_STEREO = compiled_contract(k_energy_stereo)
FAST_ENVELOPE = compiled(envelope_follower)
FAST_COMPRESSOR_GAIN = compiled(compressor_gain)
FAST_LIMITER = compiled(limiter)
