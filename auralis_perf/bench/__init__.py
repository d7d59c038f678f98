"""Benchmark commands kept in the repository: `python -m auralis_perf.bench engine|library [args]`.

- `engine`: the reference engine's speed and memory figures: chain real-time factor,
  compiled-vs-plain kernel speedups, streaming latency and chunk times, streaming memory on large files.
- `library`: the music library's figures.

Both print a table of medians over repeated runs after a warm-up; the machine is described alongside,
since figures from a shared or noisy machine are indicative only.
"""
