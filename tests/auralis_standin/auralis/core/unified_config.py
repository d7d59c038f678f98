PRESETS = ("adaptive", "gentle", "warm", "bright", "punchy")


class UnifiedConfig:
    def __init__(self, internal_sample_rate=44100):
        self.internal_sample_rate = internal_sample_rate
        self.mastering_profile = "adaptive"

    def set_mastering_preset(self, name):
        if name not in PRESETS:
            raise ValueError(name)
        self.mastering_profile = name
