"""The adapter conformance kit: pytest modules that check an engine against the protocols it declares.

Run it with `pytest --perf-engine NAME_OR_MODULE:FACTORY -m conformance` (the plugin is
`auralis_perf.pytest_plugin.conformance`). Every `test_*.py` module of this package is part of the kit:
`test_engine.py` (what every engine offers), `test_audio.py` (the optional audio capabilities); an area
with protocols of its own adds its module here and it is collected, marked and parametrized the same way.
"""
