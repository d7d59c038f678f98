"""The typed capability protocols an engine implements, one module per area.

`audio`: playback sessions, analysis, batch work and job queues, utilities, the audio cache, preset
switching and buffer-pool figures. `library`: the music library, its caches and the database handle the
harness inspects (CACHE and DB checks). Everything here is re-exported from `auralis_perf.engines`.
"""
