import numpy as np


def create_critical_bands():
    return list(range(6))


def create_frequency_mapping(bands, sample_rate, fft_size):
    return np.arange(fft_size // 2 + 1) % len(bands)
