import numpy as np
import soundfile as sf


def save(file_path, audio_data, sample_rate, subtype="PCM_16"):
    try:
        sf.write(file_path, np.asarray(audio_data, dtype=np.float32), sample_rate, subtype=subtype)
    except Exception as exc:
        raise RuntimeError(f"Failed to save audio to '{file_path}': {exc}")
