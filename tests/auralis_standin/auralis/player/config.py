class PlayerConfig:
    def __init__(self, sample_rate=44100, buffer_size=4410, enable_level_matching=True,
                 enable_frequency_matching=False, enable_stereo_width=False, enable_auto_mastering=False,
                 enable_advanced_smoothing=True, max_db_change_per_second=2.0):
        self.sample_rate = sample_rate
        self.buffer_size = buffer_size
        self.enable_level_matching = enable_level_matching
        self.enable_auto_mastering = enable_auto_mastering
