"""Runs inside the Valgrind-counted child started by `instructions.count_instructions`; not imported.

Passed as source (like `_child_bootstrap.py`) so that the child imports nothing of auralis_perf beyond the
workloads themselves. `run_forked(workloads, ...)` imports the workloads' modules and runs their shared
set-ups once, then counts each workload in a forked process of its own (a few at a time, one per core):
every workload starts from the same state, whatever was counted before it. A forked process sets up,
warms and runs its workload between marks: a mark is a call of libc's getppid(), where Callgrind dumps
its counters. Callgrind instruments only from just before the first mark to just after the last one
(a client request; the imports, set-up and warm-up run uninstrumented, several times faster).
"""
import ctypes
import gc
import importlib
import json
import mmap
import os
import platform
import sys
import time
import traceback

#: Valgrind's client-request sequence for x86-64 (valgrind.h's VALGRIND_DO_CLIENT_REQUEST_EXPR) as a
#: function uint64 f(uint64 *args, uint64 default): the preamble's four rotations of rdi cancel out, and
#: natively the whole sequence does nothing but return `default`.
_REQUEST_CODE = bytes([0x48, 0x89, 0xF8,  # mov rax, rdi  (the request block)
                       0x48, 0x89, 0xF2,  # mov rdx, rsi  (the default result)
                       0x48, 0xC1, 0xC7, 0x03, 0x48, 0xC1, 0xC7, 0x0D,  # rol rdi, 3; rol rdi, 13
                       0x48, 0xC1, 0xC7, 0x3D, 0x48, 0xC1, 0xC7, 0x33,  # rol rdi, 61; rol rdi, 51
                       0x48, 0x87, 0xDB,  # xchg rbx, rbx  (the request itself)
                       0x48, 0x89, 0xD0,  # mov rax, rdx
                       0xC3])             # ret
_CALLGRIND_BASE = (ord("C") << 24) | (ord("T") << 16)
START_INSTRUMENTATION, STOP_INSTRUMENTATION = _CALLGRIND_BASE + 4, _CALLGRIND_BASE + 5
_request_function = None


#: Seed of the child's fixed stream of "random" bytes (see `fix_entropy`).
ENTROPY_SEED = 0x5EED_0F_C0_57
_MASK64 = (1 << 64) - 1


class _FixedEntropy:
    """os.urandom's replacement in the counted child: the same bytes in every run (SplitMix64 from a fixed
    seed). Nothing in the child needs secrecy; its memory layout must repeat (see `fix_entropy`)."""

    def __init__(self, seed):
        self.state = seed & _MASK64

    def __call__(self, size):
        if size < 0:
            raise ValueError("negative argument not allowed")
        out = bytearray()
        while len(out) < size:
            self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK64
            z = self.state
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
            out += (z ^ (z >> 31)).to_bytes(8, "little")
        return bytes(out[:size])


def fix_entropy(seed=ENTROPY_SEED):
    """Make the child's random numbers the same in every run, before anything imports `random`.

    Importing scipy.stats draws unseeded random samples (np.random.default_rng() with entropy from
    os.urandom) and writes their repr into docstrings: strings of a different length in every process, so
    every later object (the reference library's schema, SQLAlchemy's caches) landed elsewhere, and with
    the addresses CPython's method-cache hits, hence a library query's count, moved by up to 2.9 % from
    run to run. numpy's global RandomState, multiprocessing's authkey and `secrets` draw from the same
    source; Python's own `random` is seeded explicitly (it reads the kernel's entropy without os.urandom).
    """
    fixed = _FixedEntropy(seed)
    os.urandom = fixed
    already = sys.modules.get("random")
    if already is not None:  # imported before us: its SystemRandom reads the bound name, not os.urandom
        already._urandom = fixed
    import random

    random.seed(seed)


def _client_request(code):
    """Send a Valgrind client request; a no-op (returns 0) natively and off x86-64, where Callgrind then
    instruments from the start (the parent passes --instr-atstart=yes there)."""
    global _request_function
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return 0
    if _request_function is None:
        buffer = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        buffer.write(_REQUEST_CODE)
        address = ctypes.addressof(ctypes.c_char.from_buffer(buffer))
        _request_function = (ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_uint64)(address), buffer)
    block = (ctypes.c_uint64 * 6)(code, 0, 0, 0, 0, 0)
    return _request_function[0](ctypes.addressof(block), 0)


def _load(spec):
    module, _, qualname = spec.partition(":")
    if not module or not qualname:
        raise ValueError(f"workload factory {spec!r} must be 'package.module:function'")
    target = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def _count_one(workload, warm_only, phases):
    """Set up, warm and count one workload; returns how many marks were made. `phases` gets the seconds
    each phase took (set-up, warm-up, the counted stretches): where a count's cost goes."""
    marks = 0
    started = time.perf_counter()

    def mark():
        nonlocal marks
        os.getppid()
        marks += 1

    call = _load(workload["factory"])(*workload["args"])
    phases["setup_s"] = time.perf_counter() - started
    for _ in range(workload["warmup"]):
        call()  # compile, fill caches, import lazily: none of it belongs to the call
    phases["warmup_s"] = time.perf_counter() - started - phases["setup_s"]
    if warm_only:
        return 0
    gc.collect()
    gc.disable()  # a collection would fall into one stretch and not the other
    _client_request(START_INSTRUMENTATION)
    mark()
    for _ in range(workload["reps"]):
        call()
    mark()
    for _ in range(2 * workload["reps"]):
        call()
    mark()
    _client_request(STOP_INSTRUMENTATION)
    phases["counted_s"] = time.perf_counter() - started - phases["setup_s"] - phases["warmup_s"]
    return marks


def _child(index, workload, warm_only, out_dir):
    """The forked process: count, write the outcome, leave without running the parent's clean-ups."""
    outcome = {"index": index, "pid": os.getpid(), "phases": {}}
    started = time.perf_counter()
    try:
        outcome.update(ok=True, marks=_count_one(workload, warm_only, outcome["phases"]))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises
        outcome.update(ok=False, error=f"{type(error).__name__}: {error}", traceback=traceback.format_exc())
    outcome["wall_s"] = time.perf_counter() - started
    try:
        with open(os.path.join(out_dir, f"{index}.json"), "w", encoding="utf-8") as file:
            json.dump(outcome, file)
    finally:
        os._exit(0 if outcome["ok"] else 1)


def run_forked(workloads, prepares, parallel, out_dir, warm_only=False):
    """Import every workload's module, run each shared set-up once (`prepares`: [factory, args]), then
    count every workload in a forked process of its own, `parallel` at a time. Returns each workload's
    outcome (its pid, marks, wall time, or its error) in order."""
    fix_entropy()
    for workload in workloads:
        _load(workload["factory"])  # the import only: the factory runs in the forked process
    for factory, args in prepares:
        _load(factory)(*args)
    running = {}
    pending = list(enumerate(workloads))
    while pending or running:
        while pending and len(running) < parallel:
            index, workload = pending.pop(0)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(index, workload, warm_only, out_dir)
            running[pid] = index
        pid, _status = os.wait()
        running.pop(pid, None)
    outcomes = []
    for index, workload in enumerate(workloads):
        path = os.path.join(out_dir, f"{index}.json")
        if not os.path.exists(path):
            outcomes.append({"index": index, "ok": False, "error": f"the process counting {workload['factory']} "
                                                                   "died without an outcome", "traceback": ""})
            continue
        with open(path, encoding="utf-8") as file:
            outcomes.append(json.load(file))
    return outcomes
