def apply_eq_gains(chunk, gains, band_map, fft_size):
    return chunk * 2.0
