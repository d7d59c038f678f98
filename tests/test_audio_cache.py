"""The audio cache: hits, persistence across processes, file changes, corrupt entries, rescans."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections import Counter

import numpy as np
import pytest
import soundfile as sf

from auralis_perf.engines.base import AudioFileError
from auralis_perf.engines.reference.audio_cache import AudioCache, AudioCacheError
from auralis_perf.engines.reference.library import Cursor, ScanReport

CALLS: Counter = Counter()


def waveform(audio, rate):
    CALLS["waveform"] += 1
    columns = np.array_split(audio.mean(axis=1), 16)
    return np.array([[c.min(), c.max()] for c in columns])


def analysis(audio, rate):
    CALLS["analysis"] += 1
    peak = float(np.abs(audio).max())
    return {"peak": peak, "rms": float(np.sqrt(np.mean(audio ** 2))), "shape": tuple(audio.shape),
            "per_channel": np.abs(audio).max(axis=0), "rate": rate, "tags": ["a", None, 1.5],
            "cursor": Cursor("title", False, "x", 3)}


def fingerprint(audio, rate):
    CALLS["fingerprint"] += 1
    return np.packbits(audio[::64, 0] > 0).tobytes()


ANALYZERS = {"waveform": waveform, "analysis": analysis, "fingerprint": fingerprint}


def write_tone(path, frequency=440.0, seconds=0.3, rate=22050):
    t = np.arange(int(seconds * rate)) / rate
    sf.write(str(path), np.stack([0.5 * np.sin(2 * np.pi * frequency * t)] * 2, axis=1), rate)


@pytest.fixture()
def audio_file(tmp_path):
    path = tmp_path / "tone.wav"
    write_tone(path)
    CALLS.clear()
    return path


def test_second_request_is_a_hit_and_equal(tmp_path, audio_file):
    with AudioCache(tmp_path / "cache", ANALYZERS) as cache:
        first = cache.get(audio_file, "waveform")
        second = cache.get(audio_file, "waveform")
        assert np.array_equal(first, second) and CALLS["waveform"] == 1
        result = cache.get(audio_file, "analysis")
        assert result["shape"] == (6615, 2) and result["cursor"] == Cursor("title", False, "x", 3)
        stats = cache.stats()
        assert (stats["hits"], stats["misses"], stats["memory_hits"]) == (1, 2, 1)
        assert stats["bytes"] > first.nbytes and stats["disk_entries"] == 2 and stats["evictions"] == 0


def test_results_survive_a_new_process(tmp_path, audio_file):
    directory = tmp_path / "cache"
    with AudioCache(directory, ANALYZERS) as cache:
        expected = {kind: cache.get(audio_file, kind) for kind in ANALYZERS}
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        from auralis_perf.engines.reference.audio_cache import AudioCache
        def refuse(audio, rate):
            raise SystemExit("recomputed instead of read from disk")
        cache = AudioCache({str(directory)!r}, {{k: refuse for k in ("waveform", "analysis", "fingerprint")}})
        wave = cache.get({str(audio_file)!r}, "waveform")
        info = cache.get({str(audio_file)!r}, "analysis")
        print(json.dumps({{"wave": wave.tolist(), "peak": info["peak"], "shape": list(info["shape"]),
                           "fp": cache.get({str(audio_file)!r}, "fingerprint").hex(),
                           "stats": cache.stats()}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 0, done.stderr
    import json
    seen = json.loads(done.stdout)
    assert np.allclose(seen["wave"], expected["waveform"]) and seen["peak"] == expected["analysis"]["peak"]
    assert seen["shape"] == [6615, 2] and bytes.fromhex(seen["fp"]) == expected["fingerprint"]
    assert seen["stats"]["disk_hits"] == 3 and seen["stats"]["misses"] == 0


def test_a_changed_file_is_recomputed(tmp_path, audio_file):
    with AudioCache(tmp_path / "cache", ANALYZERS) as cache:
        before = cache.get(audio_file, "analysis")
        time.sleep(0.01)
        write_tone(audio_file, frequency=880.0, seconds=0.5)
        after = cache.get(audio_file, "analysis")
        assert after["shape"] == (11025, 2) != before["shape"] and CALLS["analysis"] == 2
        assert cache.stats()["stale"] == 2  # the memory entry and the disk entry of the old file
        cache.clear_memory()  # as after a restart: the disk entry is the new one
        assert cache.get(audio_file, "analysis")["shape"] == (11025, 2) and CALLS["analysis"] == 2


def test_same_size_same_mtime_change_is_caught_by_the_head_hash(tmp_path, audio_file):
    with AudioCache(tmp_path / "cache", ANALYZERS) as cache:
        cache.get(audio_file, "waveform")
        stat = os.stat(audio_file)
        data = bytearray(audio_file.read_bytes())
        data[200:400] = bytes(200)  # silence a stretch inside the first 64 KiB
        audio_file.write_bytes(bytes(data))
        os.utime(audio_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert os.stat(audio_file).st_size == stat.st_size
        cache.get(audio_file, "waveform")
        assert CALLS["waveform"] == 2


@pytest.mark.parametrize("damage", ["garbage", "truncate", "empty", "foreign_identity", "untrusted_class"])
def test_a_damaged_entry_is_discarded_and_recomputed(tmp_path, audio_file, damage):
    directory = tmp_path / "cache"
    other = tmp_path / "other.wav"
    write_tone(other, frequency=300.0)
    with AudioCache(directory, ANALYZERS) as cache:
        good = cache.get(audio_file, "analysis")
        cache.get(other, "analysis")
    entry = AudioCache(directory, ANALYZERS)._file(os.path.realpath(audio_file), "analysis")
    if damage == "garbage":
        entry.write_bytes(os.urandom(500))
    elif damage == "truncate":
        entry.write_bytes(entry.read_bytes()[:100])
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "foreign_identity":
        entry.write_bytes(AudioCache(directory, ANALYZERS)._file(os.path.realpath(other), "analysis").read_bytes())
    else:
        import json
        with np.load(entry) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(arrays["__meta__"].tobytes())
        meta["value"] = {"$dataclass": "os:system", "fields": {"command": "echo pwned"}}
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        np.savez(entry, **arrays)
    CALLS.clear()
    with AudioCache(directory, ANALYZERS) as cache:
        again = cache.get(audio_file, "analysis")
        assert again["peak"] == good["peak"] and CALLS["analysis"] == 1
        stats = cache.stats()
        assert stats["corrupt"] + stats["stale"] == 1
        assert cache.contains(audio_file, "analysis")  # the recomputed entry replaced the bad one


def test_invalidate_scan_report_and_eviction(tmp_path, audio_file):
    second = tmp_path / "second.wav"
    write_tone(second, frequency=330.0)
    with AudioCache(tmp_path / "cache", ANALYZERS, max_entries=2) as cache:
        for kind in ANALYZERS:
            cache.get(audio_file, kind)
        assert cache.stats()["evictions"] == 1 and cache.stats()["entries"] == 2
        assert cache.contains(audio_file, "waveform")  # evicted from memory, still on disk
        cache.get(second, "waveform")
        assert cache.invalidate(audio_file) >= 3
        assert not cache.contains(audio_file, "waveform")
        dropped = cache.apply_scan(ScanReport(folder=str(tmp_path), changed=(str(second),)))
        assert dropped >= 1 and not cache.contains(second, "waveform")
        cache.get(audio_file, "waveform")
        assert CALLS["waveform"] == 3  # tone, second, tone again after its invalidation


def test_bad_input(tmp_path, audio_file):
    with AudioCache(tmp_path / "cache", ANALYZERS) as cache:
        with pytest.raises(AudioFileError, match="missing.wav"):
            cache.get(tmp_path / "missing.wav", "waveform")
        not_audio = tmp_path / "notes.wav"
        not_audio.write_text("hello")
        with pytest.raises(AudioFileError, match="notes.wav"):
            cache.get(not_audio, "waveform")
        with pytest.raises(AudioCacheError, match="spectrum"):
            cache.get(audio_file, "spectrum")
    with pytest.raises(AudioCacheError, match="closed"):
        cache.get(audio_file, "waveform")
    with pytest.raises(AudioCacheError, match="unknown analysis kind"):
        AudioCache(tmp_path / "c2", {"colour": waveform})
    with pytest.raises(AudioCacheError, match="not writable"):
        AudioCache("/proc/self/audio-cache", ANALYZERS)


def test_through_the_engine(tmp_path, audio_file):
    from auralis_perf.engines import get_engine
    engine = get_engine("reference")
    cache = engine.open_audio_cache(tmp_path / "engine-cache")
    try:
        for kind in ("waveform", "spectrum", "fingerprint", "analysis"):
            first = cache.get(audio_file, kind)
            assert cache.get(audio_file, kind) is first
        assert cache.stats()["hits"] == 4 and cache.stats()["misses"] == 4
    finally:
        cache.close()
        engine.close()
