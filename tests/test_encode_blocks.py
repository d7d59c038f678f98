"""Every encoder writes in blocks: 90 s of stereo Ogg Vorbis must not crash the process.

One `soundfile.write` call of a minute or more of stereo Ogg Vorbis overflows libvorbis's stack and kills
the process (python-soundfile #426/#396). The long write runs in a child process, so a crash fails the
test (a signal as its exit status) instead of killing pytest. 90 s is past that minute: one
`soundfile.write` of the same 90 s ends the process with SIGSEGV here (exit 139), and 10 minutes took
~15 s more of the test run.
"""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import soundfile as sf

from auralis_perf.engines.support.encode import write_in_blocks

_CHILD = textwrap.dedent("""
    import sys
    import numpy as np
    import soundfile as sf
    from auralis_perf.engines.reference import ReferenceEngine

    sr, seconds = 44100, 90
    t = np.arange(sr * seconds, dtype=np.float64) / sr
    tone = 0.25 * np.sin(2 * np.pi * 440.0 * t) + 0.05 * np.random.default_rng(0).standard_normal(t.size)
    audio = np.stack([tone, np.roll(tone, 1000)], axis=1).astype(np.float32)
    del t, tone
    path = ReferenceEngine().utilities.encode(audio, sr, sys.argv[1], "OGG")
    info = sf.info(path)
    print(info.frames, info.channels, info.samplerate)
""")


def test_ninety_seconds_of_stereo_ogg_are_written_by_the_engines_encoder(tmp_path) -> None:
    path = tmp_path / "ninety-seconds.ogg"
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"the encoder's process ended with {done.returncode}: {done.stderr[-2000:]}"
    frames, channels, rate = map(int, done.stdout.split())
    assert (frames, channels, rate) == (44100 * 90, 2, 44100)


def test_block_writes_give_the_same_file_content_as_one_call(tmp_path) -> None:
    rng = np.random.default_rng(1)
    audio = (0.3 * rng.standard_normal((10_000, 2))).astype(np.float32)
    one, blocks = tmp_path / "one.wav", tmp_path / "blocks.wav"
    sf.write(one, audio, 44100, subtype="FLOAT")
    write_in_blocks(blocks, audio, 44100, subtype="FLOAT", block_frames=4096)  # 3 blocks, the last partial
    assert np.array_equal(sf.read(one, dtype="float32")[0], sf.read(blocks, dtype="float32")[0])
    mono = np.clip(audio[:, 0], -0.9, 0.9)  # FLAC is 16-bit here: no clipping, half an LSB of rounding
    write_in_blocks(tmp_path / "mono.flac", mono, 48000, block_frames=999)
    back, rate = sf.read(tmp_path / "mono.flac", dtype="float32")
    assert rate == 48000 and back.shape == mono.shape and np.abs(back - mono).max() < 2.0 ** -15
