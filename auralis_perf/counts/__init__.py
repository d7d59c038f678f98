"""Instruction counts of the engine calls that matter: deterministic figures for CI gates (issue 15).

`workloads` builds each call through the engine protocols (in the counted child process); `figures` lists
them, counts them with `measure.instructions` and turns them into result records.
"""
