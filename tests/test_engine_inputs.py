"""Bad input is rejected with a clear error naming the problem (and the file), never a deep crash."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from auralis_perf.engines import AudioFileError, AudioInputError
from auralis_perf.engines.reference import ReferenceEngine
from auralis_perf.signals import music, write_music

SR = 44100


def _with(value: float) -> np.ndarray:
    audio = music(0.2, SR)
    audio[100, 1] = value
    return audio


@pytest.mark.parametrize("audio, words", [
    (_with(np.nan), ["NaN", "frame 100"]),
    (_with(np.inf), ["Inf", "frame 100"]),
    (np.zeros((0, 2), np.float32), ["empty"]),
    (np.zeros((100, 2, 2), np.float32), ["3 dimensions"]),
    (np.zeros((1000, 3), np.float32), ["3 channels"]),
    (np.zeros((2, 1000), np.float32), ["channels", "transposed"]),
    (np.zeros((1000, 2), np.int16), ["dtype", "int16"]),
    (np.zeros((1000, 2), np.complex64), ["dtype"]),
    ([[0.0, 0.0]] * 10, ["NumPy array", "list"]),
])
def test_bad_arrays(engine: ReferenceEngine, audio: object, words: list[str]) -> None:
    for call in (lambda: engine.master(audio, SR), lambda: engine.stream(audio, sample_rate=SR)):
        with pytest.raises(AudioInputError) as caught:
            call()
        for word in words:
            assert word in str(caught.value)


@pytest.mark.parametrize("rate", [12345, 0, -44100, 44100.5, "44100", None, True])
def test_unsupported_sample_rates(engine: ReferenceEngine, rate: object) -> None:
    with pytest.raises(AudioInputError, match="sample rate|sample_rate"):
        engine.master(music(0.1, SR), rate)  # type: ignore[arg-type]


def test_unsupported_sample_rate_in_a_file(engine: ReferenceEngine, tmp_path) -> None:
    path = tmp_path / "odd-rate.wav"
    sf.write(path, music(0.2, 8000), 8000)
    with pytest.raises(AudioInputError) as caught:
        engine.stream(path)
    assert "8000" in str(caught.value) and str(path) in str(caught.value)


def test_too_many_channels_in_a_file(engine: ReferenceEngine, tmp_path) -> None:
    path = tmp_path / "surround.wav"
    sf.write(path, np.zeros((1000, 6), np.float32), SR)
    with pytest.raises(AudioInputError, match="6 channels"):
        engine.stream(path)


def _truncated_wav(tmp_path):
    path = write_music(tmp_path / "truncated.wav", 1.0, SR)
    data = path_bytes = open(path, "rb").read()
    open(path, "wb").write(data[: len(path_bytes) // 2])
    return path


def _corrupt_flac(tmp_path):
    path = write_music(tmp_path / "corrupt.flac", 2.0, SR)
    data = bytearray(open(path, "rb").read())
    data[len(data) // 3: len(data) // 3 + 4000] = bytes(4000)
    open(path, "wb").write(bytes(data))
    return path


def _truncated_flac(tmp_path):
    path = write_music(tmp_path / "truncated.flac", 2.0, SR)
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    return path


def _not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are not the samples you are looking for\n" * 50)
    return path


def _empty(tmp_path):
    path = tmp_path / "empty.flac"
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize("make, words", [
    (lambda tmp: tmp / "missing.wav", ["no such file"]),
    (lambda tmp: tmp, ["directory"]),
    (_truncated_wav, ["truncated"]),
    (_truncated_flac, ["truncated"]),
    (_corrupt_flac, ["corrupt"]),
    (_not_audio, ["not a readable audio file"]),
    (_empty, ["empty"]),
])
def test_bad_files(engine: ReferenceEngine, tmp_path, make, words: list[str]) -> None:
    path = make(tmp_path)

    def consume() -> None:
        with engine.stream(path) as stream:
            for _chunk in stream:
                pass

    for call in (consume, lambda: engine.utilities.decode(path), lambda: engine.process_batch([path])):
        with pytest.raises(AudioFileError) as caught:
            call()
        message = str(caught.value)
        assert str(path) in message
        assert any(word in message for word in words), message
    with pytest.raises(AudioFileError), engine.open_playback() as session:
        session.load(path)


def test_other_bad_arguments(engine: ReferenceEngine) -> None:
    audio = music(0.2, SR)
    with pytest.raises(AudioInputError, match="unknown preset 'loud'"):
        engine.master(audio, SR, "loud")
    with pytest.raises(AudioInputError, match="chunk_size"):
        engine.stream(audio, sample_rate=SR, chunk_size=0)
    with pytest.raises(AudioInputError, match="sample_rate is required"):
        engine.stream(audio)
    with pytest.raises(AudioInputError, match="file path or a NumPy array"):
        engine.stream(42)  # type: ignore[arg-type]
    with pytest.raises(AudioInputError, match="unknown analysis kind"):
        engine.analyze(audio, SR, "tempo")
    with pytest.raises(AudioInputError, match="executor"):
        engine.process_batch([(audio, SR)], executor="gpu")
    with pytest.raises(AudioInputError, match="batch item"):
        engine.process_batch([audio])
