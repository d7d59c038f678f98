import numpy as np
import soundfile as sf


def load(file_path, file_type="audio", temp_folder=None):
    try:
        audio, rate = sf.read(file_path, dtype=np.float32, always_2d=True)
    except Exception as exc:
        raise RuntimeError(f"Failed to load {file_type} file '{file_path}': {exc}")
    if audio.shape[1] == 1:
        audio = np.column_stack([audio[:, 0], audio[:, 0]])
    return audio[:, :2], rate
