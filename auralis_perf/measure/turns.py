"""Two measuring processes taking turns sample by sample (`--against-round-process interleaved`).

With `--against`, each round of a timing group is measured on both sides. Measured one side after the
other, round k's candidate sample and baseline sample lie seconds apart (a whole group, plus a process
start, between them), and a burst of load lasting a few seconds hits one of the two only. Seen here with a
CPU-bound loop on each of the 2 cores: the baseline's CPU time per call rose by about 40 % in 5 of 12
rounds and the candidate's in 2 others, and a 10 % slower `master()` read 1.04 (p 0.6). Interleaved, both
sides' round processes start together and take turns, A B B A A B B A ... (`turn_owner`), handing the
turn over after each warm-up and each timed sample. Both sides warm up for a clip first, and then their
samples of it follow each other directly, so a burst hits both samples of a pair.

The referee (`TurnReferee`, in the process that starts the rounds) listens on a Unix socket. Each measuring
process connects (`taking_turns`) before it loads its engine, and the first turn is given only when both
have connected (or `connect_timeout` passed: then whoever came measures alone). The process holding the
turn runs until it has warmed up or taken one timed sample (`measure_time` calls `pass_turn()`) and then
waits for the turn to come back; everything else it does (loading, generating audio) also happens in its
own turn, so the two never run at once. With one sample per clip and round (the Real-time factor group),
the turns go: A warms up, B warms up, B's sample, A's sample, A warms up for the next clip, B warms up,
B's sample, A's sample ... (who goes first alternates from round to round). A process that ends, or is
retired by its starter, gives up its turns for good; a process that loses its referee measures alone
from there.

Both processes also run on one and the same CPU while they take turns (`one_cpu`: the lowest CPU they may
use). On a shared host one virtual CPU is sometimes slower than the other for seconds (its physical core is
busy with someone else's work): seen here on a quiet machine, the baseline's CPU time per call was 35-50 %
higher in three rounds in a row while the candidate's, interleaved with it, was not. On one CPU such a
spell slows both sides' samples alike. Threads the engine starts after connecting inherit the pinning, so
a master() that spreads over threads is measured on one core: judge it by CPU time, as the Real-time
factor group does.

Protocol, one line each: process -> "hello <side>", referee -> "go" (the first turn); then process ->
"yield" after each warm-up and timed sample, referee -> "go" when the turn is back.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from pathlib import Path

#: Seconds the referee waits for both processes to connect (each connects before it loads its engine).
CONNECT_TIMEOUT_S = 120.0
_ACCEPT_POLL_S = 0.2


def turn_owner(grant: int, first: int) -> int:
    """The side (0 or 1) that holds turn `grant` (0-based): `first`, then the other twice, `first` twice, ...
    so that of each two pairs of samples, each side goes first once (A1 B1, B2 A2, A3 B3, ...)."""
    if first not in (0, 1) or grant < 0:
        raise ValueError(f"turn {grant} with first side {first}: need grant >= 0 and first 0 or 1")
    if grant == 0:
        return first
    return 1 - first if ((grant - 1) // 2) % 2 == 0 else first


class TurnReferee:
    """Gives the turn to one of two processes at a time (see the module's docstring).

        with TurnReferee(path, first=0) as referee:
            ...start both processes with (path, side)...; referee.retire(side) when one's work returned
        referee.grants      # who held each turn, in order
    """

    def __init__(self, path: Path, first: int, *, connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        turn_owner(0, first)  # validates `first`
        self.path, self.first, self.connect_timeout = Path(path), first, connect_timeout
        self.grants: list[int] = []
        self.connected: list[int] = []
        self._retired: set[int] = set()
        self._connections: dict[int, socket.socket] = {}
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.path))
        self._server.listen(2)
        self._server.settimeout(_ACCEPT_POLL_S)
        self._thread = threading.Thread(target=self._referee, name="turn-referee", daemon=True)

    def __enter__(self) -> "TurnReferee":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.close()
        for side in (0, 1):
            self.retire(side)
        self._thread.join(timeout=10)
        with suppress(FileNotFoundError):
            self.path.unlink()

    def retire(self, side: int) -> None:
        """Take `side` out of the turns (its work returned, or failed): the other side goes on alone."""
        with self._lock:
            self._retired.add(side)  # one that never connected is no longer waited for
            conn = self._connections.pop(side, None)
        if conn is not None:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)  # wakes the referee if it waits on this side
            conn.close()

    def _accept_both(self) -> None:
        deadline = time.monotonic() + self.connect_timeout
        while len(self._retired.union(self.connected)) < 2 and time.monotonic() < deadline:
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by __exit__
                return
            conn.settimeout(None)
            words = _read_line(conn).split()
            side = int(words[1]) if len(words) == 2 and words[0] == "hello" and words[1] in ("0", "1") else None
            if side is not None and side not in self.connected:
                with self._lock:
                    self._connections[side] = conn
                self.connected.append(side)
            else:
                conn.close()
        self._server.close()  # a process that comes later is refused, and measures alone

    def _referee(self) -> None:
        self._accept_both()
        grant = 0
        while True:
            with self._lock:
                live = dict(self._connections)
            if not live:
                return
            owner = turn_owner(grant, self.first)
            if owner not in live:
                owner = next(iter(live))
            grant += 1
            try:
                live[owner].sendall(b"go\n")
                self.grants.append(owner)
                if _read_line(live[owner]) == "yield":
                    continue
            except OSError:
                pass
            self.retire(owner)  # it ended, died or was retired: no more turns for it


def _read_line(conn: socket.socket) -> str:
    """One line from `conn` ('' at the end of the stream)."""
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = conn.recv(1)
        if not chunk:
            return ""
        data += chunk
    return data.decode("ascii", "replace").strip()


class _Turn:
    """A measuring process's end of the socket."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn

    def wait(self) -> None:
        if _read_line(self.conn) != "go":
            raise EOFError("the referee is gone")

    def hand_over(self) -> None:
        self.conn.sendall(b"yield\n")
        self.wait()


_CURRENT: ContextVar[_Turn | None] = ContextVar("auralis_perf_turn", default=None)


@contextmanager
def taking_turns(path: str | None, side: int) -> Iterator[bool]:
    """Connect to the referee at `path` as `side` and wait for the first turn; inside the block every
    warm-up and timed sample of `measure_time` hands the turn over. Yields whether turns are taken: False
    without `path` or when no referee answered (then this process measures alone)."""
    if path is None:
        yield False
        return
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    turn = _Turn(conn)
    try:
        conn.connect(path)
        conn.sendall(f"hello {side}\n".encode())
        turn.wait()
    except (OSError, EOFError):
        conn.close()
        yield False
        return
    token = _CURRENT.set(turn)
    try:
        with one_cpu():
            yield True
    finally:
        _CURRENT.reset(token)
        conn.close()


@contextmanager
def one_cpu() -> Iterator[int | None]:
    """Inside the block the calling thread (and the threads it starts) runs on the lowest CPU it is allowed
    (see the module's docstring); yields that CPU, or None where affinity cannot be set. Restored after."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    allowed = os.sched_getaffinity(0)
    cpu = min(allowed)
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        yield None
        return
    try:
        yield cpu
    finally:
        with suppress(OSError):
            os.sched_setaffinity(0, allowed)


def pass_turn() -> float:
    """Called by `measure_time` after its warm-up and after each timed sample: hand the turn over and wait
    for it to come back (nothing outside `taking_turns`; if the referee is gone, this process goes on
    alone). Returns the seconds spent waiting (the other side's work, which is not this side's sampling)."""
    turn = _CURRENT.get()
    if turn is None:
        return 0.0
    started = time.perf_counter()
    try:
        turn.hand_over()
    except (OSError, EOFError):
        _CURRENT.set(None)
    return time.perf_counter() - started


__all__ = ["CONNECT_TIMEOUT_S", "TurnReferee", "one_cpu", "pass_turn", "taking_turns", "turn_owner"]
