"""Adapter support any engine may use: audio sources, input validation, batches, chunked streams."""
