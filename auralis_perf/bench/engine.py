"""The reference engine's speed and memory figures, as a table of medians.

    python -m auralis_perf.bench engine [--runs 5] [--seconds 60] [--large-mb 1024 100] [--json out.json]

Figures and their targets:
- whole default chain on 60 s of stereo 44.1 kHz music-like float32, warm: real-time factor >= 250x;
- compiled envelope follower vs the pure-Python loop: >= 50x (other kernel pairs shown for reference);
- streaming a file with 4096-frame chunks: first processed chunk < 20 ms after opening; p99 chunk
  time < 10 % of the chunk's duration;
- streaming large WAV files from disk (1 GB and 100 MB): peak RSS < 150 MB above the idle process,
  measured in a fresh process per file.

Every time figure is the median of >= `--runs` timed runs after a warm-up. No figure is asserted: a
miss is printed as such. On a shared machine the figures are indicative.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from auralis_perf.engines import get_engine
from auralis_perf.measure.timing import measure_time
from auralis_perf.signals import kernel_input, music, write_music

SR = 44100
CHUNK = 4096


def _median(values: list[float]) -> float:
    return float(np.median(values))


def _row(name: str, value: float, unit: str, target: str, passed: bool | None, detail: str = "",
         samples: list[float] | None = None) -> dict[str, Any]:
    return {"figure": name, "value": value, "unit": unit, "target": target,
            "verdict": "n/a" if passed is None else ("pass" if passed else "MISS"), "detail": detail,
            "samples": samples or []}


def bench_chain(engine: Any, seconds: float, runs: int) -> list[dict[str, Any]]:
    audio = music(seconds, SR, seed=1)
    cpu: list[float] = []

    def run() -> None:
        start = time.process_time()
        engine.master(audio, SR)
        cpu.append(time.process_time() - start)

    timing = measure_time(run, warmup=2, repeat=runs, min_time=0.0, inner_loops=1)
    rtfs = [seconds / s for s in timing.samples]
    cpu_rtf = seconds / _median(cpu[2:])
    return [_row(f"default chain, {seconds:g} s stereo float32, warm", _median(rtfs), "x real time", ">= 250x",
                 _median(rtfs) >= 250, f"{timing.median * 1e3:.1f} ms median wall; CPU-time RTF {cpu_rtf:.0f}x; "
                 f"spread {min(rtfs):.0f}-{max(rtfs):.0f}x", rtfs)]


def _pair_speedup(pair: Any, frames: int, runs: int) -> tuple[float, float, float, float]:
    data = kernel_input(pair, frames, SR)
    fast = measure_time(lambda: pair.fast(data), warmup=1, repeat=runs, min_time=0.0)
    plain = measure_time(lambda: pair.plain(data), warmup=1, repeat=runs, min_time=0.0, inner_loops=1)
    difference = float(np.max(np.abs(np.asarray(pair.fast(data)) - np.asarray(pair.plain(data)))))
    return plain.median / fast.median, fast.median, plain.median, difference


def bench_kernels(engine: Any, runs: int) -> list[dict[str, Any]]:
    rows = []
    sizes = {"envelope": 10 * SR, "eq": 10 * SR, "spectrum_batched": 60 * SR, "spectrum_parallel": 60 * SR,
             "chain": 5 * SR}
    targets = {"envelope": (">= 50x", 50.0)}
    for name, pair in engine.kernels().items():
        frames = sizes.get(name, 5 * SR)
        speedup, fast, plain, difference = _pair_speedup(pair, frames, runs)
        target, bound = targets.get(name, ("shown", None))
        extra = f"; workers {pair.info['workers']}" if "workers" in pair.info else ""
        rows.append(_row(f"{name}: fast vs plain ({frames / SR:g} s)", speedup, "x", target,
                         None if bound is None else speedup >= bound,
                         f"fast {fast * 1e3:.2f} ms, plain {plain * 1e3:.1f} ms, max diff {difference:.1e}{extra}"))
    return rows


def bench_streaming(engine: Any, workdir: Path, runs: int) -> list[dict[str, Any]]:
    path = workdir / "stream-60s-pcm16.wav"
    if not path.exists():
        write_music(path, 60.0, SR, subtype="PCM_16")

    cpu_ms: list[float] = []

    def first_chunk() -> float:
        start, cpu = time.perf_counter(), time.process_time()
        with engine.stream(path, chunk_size=CHUNK) as stream:
            next(iter(stream))
            elapsed = time.perf_counter() - start
        cpu_ms.append((time.process_time() - cpu) * 1e3)
        return elapsed

    first_chunk()  # warm-up: compiled kernels loaded, the file in the page cache
    cpu_ms.clear()
    latencies = [first_chunk() * 1e3 for _ in range(max(runs, 5))]
    chunk_percent: list[float] = []
    chunk_cpu_percent: list[float] = []
    for _ in range(max(1, runs // 2)):
        with engine.stream(path, chunk_size=CHUNK) as stream:
            iterator = iter(stream)
            while True:
                start, cpu = time.perf_counter(), time.thread_time()
                chunk = next(iterator, None)
                if chunk is None:
                    break
                chunk_percent.append(100.0 * (time.perf_counter() - start) / (chunk.shape[0] / SR))
                chunk_cpu_percent.append(100.0 * (time.thread_time() - cpu) / (chunk.shape[0] / SR))
    p99 = float(np.percentile(chunk_percent, 99))
    return [
        _row("stream a 60 s WAV: first processed chunk", _median(latencies), "ms", "< 20 ms",
             _median(latencies) < 20.0, f"min {min(latencies):.1f}, max {max(latencies):.1f} ms; CPU time "
             f"{_median(cpu_ms):.1f} ms; includes opening and the engine's up-front analysis",
             latencies),
        _row("stream 4096-frame chunks: p99 chunk time", p99, "% of chunk", "< 10 %", p99 < 10.0,
             f"median {np.median(chunk_percent):.2f} %, max {max(chunk_percent):.1f} % over "
             f"{len(chunk_percent)} chunks ({CHUNK / SR * 1e3:.1f} ms each); CPU time p99 "
             f"{np.percentile(chunk_cpu_percent, 99):.2f} %, max {max(chunk_cpu_percent):.2f} %"),
    ]


_MEMORY_CHILD = """
import json, sys, time
import numpy as np
from auralis_perf.engines import get_engine
from auralis_perf.measure.memory import peak_rss_during, rss_mb
from auralis_perf.signals import music
engine = get_engine(sys.argv[2])
with engine.stream(music(1.0, 44100), sample_rate=44100, chunk_size=4096) as warm:  # load compiled kernels
    for _ in warm:
        pass
idle = rss_mb()
def run():
    frames = 0
    with engine.stream(sys.argv[1], chunk_size=4096) as stream:
        for chunk in stream:
            frames += chunk.shape[0]
    return frames
start = time.perf_counter()
frames, peak = peak_rss_during(run, interval=0.01)
elapsed = time.perf_counter() - start
print(json.dumps({"idle_mb": idle, "peak_mb": peak.peak_mb, "delta_mb": peak.peak_mb - idle, "method": peak.method,
                  "seconds": elapsed, "frames": frames}))
"""


def _large_wav(workdir: Path, megabytes: int) -> Path:
    path = workdir / f"large-{megabytes}MB.wav"
    if not path.exists():
        seconds = megabytes * 2**20 / (SR * 2 * 4)  # float32 stereo
        write_music(path, seconds, SR)
    return path


def bench_large_files(engine_name: str, workdir: Path, sizes_mb: list[int]) -> list[dict[str, Any]]:
    rows = []
    for megabytes in sizes_mb:
        path = _large_wav(workdir, megabytes)
        done = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(path), engine_name], capture_output=True,
                              text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        audio_seconds = result["frames"] / SR
        rows.append(_row(f"stream a {os.path.getsize(path) / 2**20:.0f} MB WAV from disk: peak RSS over idle",
                         result["delta_mb"], "MB", "< 150 MB", result["delta_mb"] < 150.0,
                         f"idle {result['idle_mb']:.0f} MB, peak {result['peak_mb']:.0f} MB ({result['method']}); "
                         f"{audio_seconds / 60:.0f} min of audio in {result['seconds']:.1f} s "
                         f"({audio_seconds / result['seconds']:.0f}x real time)"))
    return rows


def machine() -> dict[str, Any]:
    """The figures that matter for reading the table: CPU, cores, clock and the load when it ran."""
    from auralis_perf.measure.machine import describe_machine
    described = describe_machine()
    cpu = described.get("cpu", {})
    return {"cpu": cpu.get("model"), "usable_cores": cpu.get("usable_cores"),
            "mhz": (cpu.get("frequency") or {}).get("current_mhz"),
            "load_average": described.get("load_average_at_start"),
            "numba": (described.get("versions") or {}).get("numba")}


def print_table(rows: list[dict[str, Any]]) -> None:
    width = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{width}}  {'median':>10}  {'unit':<12} {'target':<9} {'verdict':<7} detail")
    print("-" * (width + 60))
    for r in rows:
        value = f"{r['value']:.1f}" if math.isfinite(r["value"]) else str(r["value"])
        print(f"{r['figure']:<{width}}  {value:>10}  {r['unit']:<12} {r['target']:<9} {r['verdict']:<7} {r['detail']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auralis_perf.bench engine", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", default="reference")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per figure (>= 5 recommended)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the chain benchmark's audio")
    parser.add_argument("--large-mb", type=int, nargs="*", default=[1024, 100],
                        help="sizes of the WAV files streamed for the memory figures (none: skip)")
    parser.add_argument("--workdir", type=Path, default=None, help="where test files are written (kept)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.gettempdir()) / "auralis-perf-bench"
    workdir.mkdir(parents=True, exist_ok=True)
    engine = get_engine(args.engine)
    sections: list[tuple[str, Callable[[], list[dict[str, Any]]]]] = [
        ("chain", lambda: bench_chain(engine, args.seconds, args.runs)),
        ("kernels", lambda: bench_kernels(engine, args.runs)),
        ("streaming", lambda: bench_streaming(engine, workdir, args.runs)),
        ("large files", lambda: bench_large_files(args.engine, workdir, args.large_mb)),
    ]
    rows: list[dict[str, Any]] = []
    for title, run in sections:
        print(f"[bench] {title} ...", file=sys.stderr, flush=True)
        rows.extend(run())
    print(f"engine {args.engine}: {engine.describe()}")
    print(f"machine: {machine()}")
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2, default=str))
    engine.close()
    return 0
