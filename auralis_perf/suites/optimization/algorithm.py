"""Algorithm choices (OPT-16..OPT-20): FFT implementations and sizes, the EQ's filter realisations,
resampling, format conversions and codecs, as tables of figures with the output error beside each.
"""
from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np

from auralis_perf.engines import AudioUtilities, Capability, NotSupported
from auralis_perf.measure.timing import measure_time
from auralis_perf.results import CheckResult
from auralis_perf.signals import kernel_input
from auralis_perf.suites import SuiteContext
from auralis_perf.suites.common.checks import record, require
from auralis_perf.suites.common.compare import max_abs_diff, time_side_by_side
from auralis_perf.suites.common.kernels import SAMPLE_RATE, kernel_pair
from auralis_perf.suites.common.workload import music

SIZES = {
    "smoke": {"fft_samples": 2**17, "fft_sizes": (256, 4096), "eq_frames": 44100, "resample_s": 5.0,
              "convert_s": 5.0, "codec_s": 5.0, "repeat": 5},
    "standard": {"fft_samples": 2**19, "fft_sizes": (512, 2048, 4096, 16384, 65536), "eq_frames": 220500,
                 "resample_s": 30.0, "convert_s": 30.0, "codec_s": 15.0, "repeat": 5},
    "full": {"fft_samples": 2**22, "fft_sizes": (256, 512, 1024, 2048, 4096, 8192, 16384, 65536),
             "eq_frames": 2646000, "resample_s": 120.0, "convert_s": 120.0, "codec_s": 120.0, "repeat": 7},
}
#: FFT size the value of OPT-16 is quoted at when the engine does not say which one it uses.
DEFAULT_N_FFT = 4096


def _time(fn: Callable[[], Any], repeat: int) -> Any:
    return measure_time(fn, warmup=1, repeat=repeat, min_time=0.05, sample_target=0.005)


def _largest_prime_below(n: int) -> int:
    def is_prime(k: int) -> bool:
        return k > 1 and all(k % d for d in range(2, int(k ** 0.5) + 1))
    return next(k for k in range(n - 1, 1, -1) if is_prime(k))


def _five_smooth_below(n: int) -> int:
    """The largest length <= n made of factors 2, 3 and 5 only, other than n itself if n is a power of 2."""
    def smooth(k: int) -> bool:
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        return k == 1
    return next(k for k in range(n - 1, 1, -1) if smooth(k) and k & (k - 1))


def fft_lengths(powers: tuple[int, ...]) -> list[tuple[str, int]]:
    """For each power of two: itself, the nearest smaller 2-3-5 ("fast") length, and a prime below it."""
    rows = []
    for n in powers:
        rows += [("power of two", n), ("fast length (2-3-5)", _five_smooth_below(n)),
                 ("prime", _largest_prime_below(n))]
    return rows


#: OPT-16: the spectrum's cost per transformed sample may grow like log2(n) (an FFT) between the smallest
#: and the largest size, times this much slack for caches and constant costs; a DFT grows like n.
FFT_GROWTH_SLACK = 4.0


def fft_growth_violation(rows: list[dict[str, Any]]) -> str | None:
    """A violation when the cost per transformed sample grows faster with the size than an FFT's log2(n).

    `rows` are the powers of two measured: {"length", "ns_per_transformed_sample"}.
    """
    sized = sorted((r for r in rows if r.get("ns_per_transformed_sample")), key=lambda r: r["length"])
    if len(sized) < 2:
        return None
    small, large = sized[0], sized[-1]
    growth = large["ns_per_transformed_sample"] / small["ns_per_transformed_sample"]
    allowed = FFT_GROWTH_SLACK * np.log2(large["length"]) / np.log2(small["length"])
    if growth > allowed:
        return (f"the spectrum's cost per transformed sample grows {growth:.1f}x from length {small['length']} to "
                f"{large['length']} (an FFT's grows about {np.log2(large['length']) / np.log2(small['length']):.1f}x; "
                f"allowed {allowed:.1f}x): not an FFT at these sizes")
    return None


def opt16_fft(ctx: SuiteContext) -> CheckResult:
    require(ctx, Capability.ANALYSIS)
    size = ctx.sizes(SIZES)
    n_fft = DEFAULT_N_FFT
    if ctx.engine.has(Capability.KERNELS) and "spectrum_batched" in ctx.engine.kernels():
        n_fft = int(kernel_pair(ctx, "spectrum_batched").info.get("n_fft", DEFAULT_N_FFT))
    audio, sr = music(ctx, size["fft_samples"] / SAMPLE_RATE, seed=16)
    seconds = len(audio) / sr
    powers = tuple(sorted(set(size["fft_sizes"]) | {n_fft}))
    ctx.engine.analyze(audio[: sr], sr, "spectrum", n_fft=n_fft)  # warm-up: plans, compilation
    rows = []
    for kind, n in fft_lengths(powers):
        row: dict[str, Any] = {"length": n, "kind": kind}
        try:
            result = np.asarray(ctx.engine.analyze(audio, sr, "spectrum", n_fft=n))
        except (NotSupported, ValueError) as exc:  # AudioInputError is a ValueError: a length it refuses
            rows.append({**row, "not_accepted": f"{type(exc).__name__}: {exc}"})
            continue
        timing = _time(lambda n=n: ctx.engine.analyze(audio, sr, "spectrum", n_fft=n), size["repeat"])
        frames = result.shape[0] if result.ndim == 2 else 1
        row.update({"ms_per_audio_s": timing.median * 1e3 / seconds,
                    "samples_ms_per_audio_s": [t * 1e3 / seconds for t in timing.samples],
                    "frames": frames, "bins": result.shape[-1],
                    "ns_per_transformed_sample": timing.median * 1e9 / (frames * n)})
        if result.shape[-1] != n // 2 + 1:
            row["bins_expected"] = n // 2 + 1
        rows.append(row)
    at_engine = next((r for r in rows if r["length"] == n_fft and r["kind"] == "power of two"
                      and "ms_per_audio_s" in r), None)
    if at_engine is None:
        raise RuntimeError(f"the engine's spectrum did not run at its own analysis size {n_fft}")
    violations = [f"n_fft={r['length']}: {r['bins']} bins, expected {r['bins_expected']} (the size asked for "
                  "was not the size used)" for r in rows if "bins_expected" in r]
    growth = fft_growth_violation([r for r in rows if r["kind"] == "power of two" and "ms_per_audio_s" in r])
    if growth:
        violations.append(growth)
    return record(ctx, "OPT-16", at_engine["ms_per_audio_s"], samples=at_engine["samples_ms_per_audio_s"],
                  kind="time", violations=violations, details={
                      "what": "the engine's spectrum analysis (analyze(kind='spectrum', n_fft=N)) of "
                              f"{seconds:.1f} s of audio at powers of two, 2-3-5 lengths and primes, in ms per "
                              f"second of audio; the value is at the engine's analysis size ({n_fft}). The cost "
                              "per transformed sample must grow no faster than an FFT's log2(n) "
                              f"(x{FFT_GROWTH_SLACK:g} slack)",
                      "table": rows, "engine_n_fft": n_fft, "audio_seconds": seconds})


def _eq_realisations(ctx: SuiteContext) -> tuple[dict[str, Callable[[Any], Any]], str]:
    pair = kernel_pair(ctx, "eq")
    realisations = dict(pair.info.get("realisations") or {})
    chosen = str(pair.info.get("chosen", ""))
    if not realisations:
        realisations = {"fast (the engine's)": pair.fast, "plain": pair.plain}
        chosen = "fast (the engine's)"
    return realisations, chosen


def opt17_filters(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    pair = kernel_pair(ctx, "eq")
    realisations, chosen = _eq_realisations(ctx)
    data = kernel_input(pair, size["eq_frames"], SAMPLE_RATE)
    engine_out = pair.fast(data)
    rows = {name: {"max_abs_diff_vs_engine": max_abs_diff(np.asarray(fn(data)), np.asarray(engine_out))}
            for name, fn in realisations.items()}
    timings = time_side_by_side({name: (lambda fn=fn: fn(data)) for name, fn in realisations.items()},
                                rounds=size["repeat"])
    for name, timing in timings.items():
        rows[name].update({"ms": timing.median * 1e3, "samples_ms": [s * 1e3 for s in timing.samples]})
    if not chosen:  # the realisation that gives exactly the engine's output
        chosen = min(rows, key=lambda n: rows[n]["max_abs_diff_vs_engine"])
    accurate = {n: r for n, r in rows.items() if r["max_abs_diff_vs_engine"] <= 1e-6}
    fastest = min(accurate, key=lambda n: accurate[n]["ms"])
    violations = []
    if fastest != chosen:
        # per-round ratio (rounds were interleaved): slower in most rounds by more than 10 % is a finding
        ratios = [c / f for c, f in zip(rows[chosen]["samples_ms"], rows[fastest]["samples_ms"])]
        rows[chosen]["ratio_to_fastest"] = statistics.median(ratios)
        if statistics.median(ratios) > 1.10:
            violations.append(f"the engine's realisation ({chosen}, {rows[chosen]['ms']:.2f} ms) is slower than "
                              f"the fastest accurate one ({fastest}, {rows[fastest]['ms']:.2f} ms) by "
                              f"{statistics.median(ratios):.2f}x, median of interleaved rounds")
    return record(ctx, "OPT-17", rows[chosen]["ms"], samples=rows[chosen]["samples_ms"], kind="time",
                  violations=violations, details={
                      "what": f"the EQ ({pair.description}) realised in several ways on {size['eq_frames']} "
                              "frames of stereo float64: time and largest difference from the engine's output; "
                              "'accurate' means within 1e-6; the value is the engine's choice",
                      "table": rows, "chosen": chosen, "fastest_accurate": fastest,
                      "inaccurate": sorted(set(rows) - set(accurate))})


def _utilities(ctx: SuiteContext) -> AudioUtilities:
    require(ctx, Capability.UTILITIES)
    if ctx.engine.utilities is None:
        raise NotSupported(f"engine {ctx.engine.name!r} declares utilities but has none")
    return ctx.engine.utilities


def opt18_resampling(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    util = _utilities(ctx)
    audio, sr = music(ctx, size["resample_s"], seed=18)
    seconds = len(audio) / sr
    up_t = _time(lambda: util.resample(audio, sr, 48000), size["repeat"])
    up = util.resample(audio, sr, 48000)
    down_t = _time(lambda: util.resample(up, 48000, sr), size["repeat"])
    back = np.asarray(util.resample(up, 48000, sr))
    edge = min(len(audio) // 10, sr // 10)  # filter start-up at both ends is not the resampler's error
    n = min(len(back), len(audio))
    original = np.asarray(audio[edge:n - edge], dtype=np.float64)
    returned = np.asarray(back[edge:n - edge], dtype=np.float64)
    error = returned - original
    rtf_samples = [seconds / s for s in up_t.samples]
    return record(ctx, "OPT-18", statistics.median(rtf_samples), samples=rtf_samples, kind="ratio", details={
        "what": f"real-time factor of resampling {sr} Hz -> 48 kHz (the value), and back; the round trip's error "
                "away from the edges",
        "rtf_up": statistics.median(rtf_samples), "rtf_down": statistics.median(seconds / s for s in down_t.samples),
        "round_trip_max_abs_error": float(np.max(np.abs(error))),
        "round_trip_snr_db": _snr_db(original, returned),
        "round_trip_snr_below_18k_db": _snr_db(*(_below(x, sr, IN_BAND_HZ) for x in (original, returned))),
        "note": "the full-band figure counts the content near the Nyquist frequency that the anti-alias filter "
                "removes by design; the figure below 18 kHz is the resampler's error on what it keeps",
        "frames_in": len(audio), "frames_at_48k": len(up), "frames_back": len(back), "audio_seconds": seconds})


IN_BAND_HZ = 18000.0


def _snr_db(reference: np.ndarray, test: np.ndarray) -> float:
    noise = float(np.mean(np.square(test - reference))) or 1e-30
    return 10.0 * float(np.log10(float(np.mean(np.square(reference))) / noise))


def _below(x: np.ndarray, sr: int, cutoff: float) -> np.ndarray:
    """x low-passed at `cutoff` with a steep zero-phase filter (both sides of a comparison alike)."""
    from scipy import signal

    sos = signal.butter(12, cutoff, fs=sr, output="sos")
    return signal.sosfiltfilt(sos, x, axis=0)


def _offered(fn: Callable[[], Any]) -> tuple[Any, str | None]:
    """fn()'s result, or None and the engine's reason when it does not offer that conversion."""
    try:
        return fn(), None
    except NotSupported as exc:
        return None, str(exc)


def opt19_conversions(ctx: SuiteContext) -> CheckResult:
    """Each conversion the engine's utilities offer, timed; the ones it does not offer are named (an engine
    with none of them skips). Inputs of the integer, interleaved and mono sides are made by the harness, so
    that one direction can be measured without the other; round trips are judged where both are offered."""
    size = ctx.sizes(SIZES)
    util = _utilities(ctx)
    audio, sr = music(ctx, size["convert_s"], seed=19)
    audio = np.ascontiguousarray(audio)
    n_samples = audio.size
    pcm16 = np.round(audio * 32767.0).astype(np.int16)
    pcm24 = np.round(audio * (2 ** 23 - 1)).astype(np.int32)
    planar = np.ascontiguousarray(audio.T)
    flat = np.ascontiguousarray(audio).ravel()
    mono = audio.mean(axis=1)
    operations: dict[str, tuple[Callable[[], Any], int]] = {
        "float -> int16": (lambda: util.float_to_int(audio, 16), n_samples),
        "int16 -> float": (lambda: util.int_to_float(pcm16, 16), n_samples),
        "float -> int24": (lambda: util.float_to_int(audio, 24), n_samples),
        "int24 -> float": (lambda: util.int_to_float(pcm24, 24), n_samples),
        "planar -> interleaved": (lambda: util.interleave(planar), n_samples),
        "interleaved -> planar": (lambda: util.deinterleave(flat, audio.shape[1]), n_samples),
        "stereo -> mono": (lambda: util.to_mono(audio), n_samples),
        "mono -> stereo": (lambda: util.to_stereo(mono), int(mono.size)),
    }
    outputs, not_offered = {}, {}
    for name, (fn, _units) in operations.items():
        outputs[name], why = _offered(fn)
        if why is not None:
            not_offered[name] = why
    if len(not_offered) == len(operations):
        raise NotSupported("the engine's utilities offer none of the sample-format conversions: "
                           + next(iter(not_offered.values())))
    rows = {}
    for name, (fn, units) in operations.items():
        if name in not_offered:
            continue
        timing = _time(fn, size["repeat"])
        rates = [units / s / 1e6 for s in timing.samples]
        rows[name] = {"msamples_s": statistics.median(rates), "samples": rates}
    checks: dict[str, float] = {}
    if "float -> int16" not in not_offered and "int16 -> float" not in not_offered:
        checks["int16 round trip max error"] = max_abs_diff(
            np.asarray(util.int_to_float(outputs["float -> int16"], 16)), audio)
    if "float -> int24" not in not_offered and "int24 -> float" not in not_offered:
        checks["int24 round trip max error"] = max_abs_diff(
            np.asarray(util.int_to_float(outputs["float -> int24"], 24)), audio)
    if "planar -> interleaved" not in not_offered and "interleaved -> planar" not in not_offered:
        checks["interleave round trip max error"] = max_abs_diff(
            np.asarray(util.deinterleave(outputs["planar -> interleaved"], audio.shape[1])), planar)
    if "mono -> stereo" not in not_offered:
        checks["mono -> stereo channel difference"] = max_abs_diff(
            np.asarray(outputs["mono -> stereo"])[:, 0], np.asarray(outputs["mono -> stereo"])[:, 1])
    violations = []
    if checks.get("int16 round trip max error", 0.0) > 1.0 / 32768 + 1e-7:
        violations.append(f"int16 round trip error {checks['int16 round trip max error']:.3g} exceeds one LSB")
    if checks.get("int24 round trip max error", 0.0) > 1.0 / 2**23 + 1e-7:
        violations.append(f"int24 round trip error {checks['int24 round trip max error']:.3g} exceeds one LSB")
    if checks.get("interleave round trip max error", 0.0) != 0.0:
        violations.append("interleave followed by deinterleave does not give the input back")
    if checks.get("mono -> stereo channel difference", 0.0) != 0.0:
        violations.append("mono -> stereo gives two different channels")
    slowest = min(rows, key=lambda n: rows[n]["msamples_s"])
    return record(ctx, "OPT-19", rows[slowest]["msamples_s"], samples=rows[slowest]["samples"], kind="throughput",
                  violations=violations, details={
                      "what": "million samples per second of each format conversion the engine's utilities offer; "
                              "the value is the slowest of them", "table": rows, "slowest": slowest,
                      "not_offered": not_offered, "round_trips": checks, "audio_seconds": len(audio) / sr})


CODECS = (("WAV", "wav"), ("FLAC", "flac"), ("OGG", "ogg"))


def opt20_codecs(ctx: SuiteContext) -> CheckResult:
    size = ctx.sizes(SIZES)
    util = _utilities(ctx)
    audio, sr = music(ctx, size["codec_s"], seed=20)
    seconds = len(audio) / sr
    folder = ctx.workdir / "codecs"
    folder.mkdir(parents=True, exist_ok=True)
    rows = {}
    all_rtf: list[float] = []
    for fmt, ext in CODECS:
        path = folder / f"codec-{uuid.uuid4().hex[:8]}.{ext}"
        try:
            encode_t = _time(lambda: util.encode(audio, sr, path, fmt.lower()), max(3, size["repeat"] - 2))
            decode_t = _time(lambda: util.decode(path), max(3, size["repeat"] - 2))
            decoded, decoded_sr = util.decode(path)
            n = min(len(decoded), len(audio))
            rows[fmt] = {"encode_rtf": statistics.median(seconds / s for s in encode_t.samples),
                         "decode_rtf": statistics.median(seconds / s for s in decode_t.samples),
                         "file_kb": path.stat().st_size / 1024,
                         "bits_per_sample": path.stat().st_size * 8 / audio.size,
                         "round_trip_max_abs_error": max_abs_diff(np.asarray(decoded[:n], dtype=np.float64),
                                                                  np.asarray(audio[:n], dtype=np.float64)),
                         "sample_rate_back": decoded_sr}
            all_rtf += [seconds / s for s in encode_t.samples] + [seconds / s for s in decode_t.samples]
        finally:
            path.unlink(missing_ok=True)
    slowest = min(((f, op) for f in rows for op in ("encode_rtf", "decode_rtf")), key=lambda k: rows[k[0]][k[1]])
    return record(ctx, "OPT-20", rows[slowest[0]][slowest[1]], samples=all_rtf, kind="ratio", details={
        "what": "real-time factor of encoding and decoding WAV, FLAC and Ogg Vorbis through the engine's utilities "
                "(the value: the slowest of the six), with file size and round-trip error",
        "table": rows, "slowest": f"{slowest[0]} {slowest[1].split('_')[0]}", "audio_seconds": seconds})


CHECKS = [("OPT-16", opt16_fft), ("OPT-17", opt17_filters), ("OPT-18", opt18_resampling),
          ("OPT-19", opt19_conversions), ("OPT-20", opt20_codecs)]
