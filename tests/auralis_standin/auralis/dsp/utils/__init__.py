"""Stand-in for auralis.dsp.utils (its signatures only)."""
