import json
from pathlib import Path


class SidecarManager:
    """Stand-in: `<file>.25d` next to the audio, valid while the audio's size and mtime are unchanged."""

    SIDECAR_EXTENSION = ".25d"

    def get_sidecar_path(self, audio_path):
        audio_path = Path(audio_path)
        return audio_path.with_suffix(audio_path.suffix + self.SIDECAR_EXTENSION)

    def exists(self, audio_path):
        return self.get_sidecar_path(audio_path).exists()

    def is_valid(self, audio_path):
        audio_path = Path(audio_path)
        if not audio_path.exists() or not self.exists(audio_path):
            return False
        stat = audio_path.stat()
        meta = self.read(audio_path)["audio_file"]
        return meta == {"size_bytes": stat.st_size, "mtime": stat.st_mtime}

    def read(self, audio_path):
        try:
            return json.loads(self.get_sidecar_path(audio_path).read_text())
        except (OSError, ValueError):
            return None

    def write(self, audio_path, data):
        stat = Path(audio_path).stat()
        content = {"audio_file": {"size_bytes": stat.st_size, "mtime": stat.st_mtime},
                   "fingerprint": data.get("fingerprint", {}), "processing_cache": data.get("processing_cache", {})}
        self.get_sidecar_path(audio_path).write_text(json.dumps(content))
        return True

    def delete(self, audio_path):
        path = self.get_sidecar_path(audio_path)
        if path.exists():
            path.unlink()
            return True
        return False

    def get_fingerprint(self, audio_path):
        data = self.read(audio_path)
        return data.get("fingerprint") if data else None

    def get_processing_cache(self, audio_path):
        data = self.read(audio_path)
        return data.get("processing_cache") if data else None

    def update_processing_cache(self, audio_path, cache_data):
        data = self.read(audio_path) or {"fingerprint": {}, "processing_cache": {}}
        data["processing_cache"].update(cache_data)
        return self.write(audio_path, data)
