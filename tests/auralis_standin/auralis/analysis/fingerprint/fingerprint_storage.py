import hashlib
import json
from pathlib import Path


class FingerprintStorage:
    """Stand-in: `.25d` JSON files under ~/.auralis/fingerprints, keyed by the path and the first MiB."""

    SIGNATURE_READ_SIZE = 1024 * 1024

    @staticmethod
    def _folder():
        folder = Path.home() / ".auralis" / "fingerprints"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @staticmethod
    def _file(audio_path):
        audio_path = Path(audio_path)
        with open(audio_path, "rb") as f:
            head = hashlib.md5(f.read(FingerprintStorage.SIGNATURE_READ_SIZE)).hexdigest()
        key = hashlib.md5(f"{audio_path.resolve()}:{head}".encode()).hexdigest()
        return FingerprintStorage._folder() / f"{key}.25d"

    @staticmethod
    def save(audio_path, fingerprint, targets):
        path = FingerprintStorage._file(audio_path)
        path.write_text(json.dumps({"fingerprint": fingerprint, "mastering_targets": targets}))
        return path

    @staticmethod
    def load(audio_path):
        path = FingerprintStorage._file(audio_path)
        if not path.exists():
            return None
        content = json.loads(path.read_text())
        return content["fingerprint"], content["mastering_targets"]

    @staticmethod
    def delete(audio_path):
        path = FingerprintStorage._file(audio_path)
        if path.exists():
            path.unlink()
            return True
        return False
