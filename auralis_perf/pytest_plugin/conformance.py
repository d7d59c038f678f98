"""The adapter conformance kit as a pytest plugin: check an engine against every protocol it declares.

    pytest --perf-engine mypackage.engine:MyEngine -m conformance      # an adapter of your own
    pytest --perf-engine pedalboard -m conformance                     # a registered engine

`--perf-engine` takes a registered engine name or "package.module:Factory" (the catalogue plugin's option
of the same name, when that plugin is loaded); without it, the ini option `perf_engines` (pyproject:
`[tool.pytest.ini_options]`) lists the engines `make test` checks. The kit's tests are the `test_*.py` modules of the `auralis_perf.conformance`
package: every module there is part of the kit (a new area adds its own module; nothing to register),
and every test in it gets the `conformance` marker. When `--perf-engine` is given, the kit is collected
even from outside this repository (the plugin adds the package's folder to what pytest collects).

Fixtures for the kit's modules: `perf_engine` (the engine, built once per spec and closed at the end),
`perf_engine_spec` (its spec), `conformance_clip` (a short stereo clip and its rate) and
`conformance_file` (the clip written as a WAV file). Use `require_capability(engine, name)` to skip a
test, with the reason, on an engine that does not declare what it needs.

The plugin is loaded by the `pytest11` entry point named after this module (any environment where
auralis-perf is installed) and is inert unless a test asks for its fixtures.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import auralis_perf.conformance as kit_package
from auralis_perf.engines import Engine, get_engine, register_engine_path

KIT_DIR = Path(kit_package.__file__).resolve().parent
#: Length of the kit's clips: enough for a few chunks, short enough that the kit takes seconds.
CLIP_SECONDS = 0.5
CLIP_RATE = 44100

_ENGINES_KEY = pytest.StashKey[dict[str, Engine]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    try:  # the catalogue plugin (auralis_perf.pytest_plugin), when loaded first, has the same option
        parser.getgroup("auralis-perf").addoption(
            "--perf-engine", default=None, metavar="SPEC",
            help="engine to check: a registered name or package.module:Factory (default: ini perf_engines)")
    except ValueError:
        pass
    parser.addini("perf_engines", type="linelist", default=[],
                  help="engines the conformance kit checks when no --perf-engine is given")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance: the adapter conformance kit (auralis_perf.conformance)")
    config.stash[_ENGINES_KEY] = {}
    if config.getoption("perf_engine") and not any(_covers(arg, KIT_DIR) for arg in config.args):
        config.args.append(str(KIT_DIR))  # outside this repository nothing else would collect the kit


def _covers(arg: str, folder: Path) -> bool:
    """Whether the command-line path `arg` (maybe with ::node parts) is `folder` or one of its parents."""
    path = Path(arg.split("::", 1)[0]).resolve()
    return path == folder or path in folder.parents


def engine_specs(config: pytest.Config) -> list[str]:
    """The engines to check: --perf-engine, else the ini option perf_engines."""
    chosen = config.getoption("perf_engine")
    return [chosen] if chosen else list(config.getini("perf_engines"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if KIT_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.conformance)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "perf_engine_spec" in metafunc.fixturenames:
        specs = engine_specs(metafunc.config)
        if not specs:
            raise pytest.UsageError("the conformance kit needs an engine: --perf-engine NAME_OR_MODULE:FACTORY "
                                    "(or the ini option perf_engines)")
        metafunc.parametrize("perf_engine_spec", specs, scope="session")


def build_engine(spec: str) -> Engine:
    """The engine a spec names; a spec with ':' is imported as package.module:Factory."""
    register_engine_path(spec)
    return get_engine(spec)


@pytest.fixture(scope="session")
def perf_engine(request: pytest.FixtureRequest, perf_engine_spec: str) -> Iterator[Engine]:
    engines = request.config.stash[_ENGINES_KEY]
    if perf_engine_spec not in engines:
        engines[perf_engine_spec] = build_engine(perf_engine_spec)
    engine = engines[perf_engine_spec]
    yield engine
    engines.pop(perf_engine_spec, None)
    engine.close()


def require_capability(engine: Engine, capability: str) -> None:
    """Skip the calling test, naming the capability, when the engine does not declare it."""
    if not engine.has(capability):
        pytest.skip(f"engine {engine.name!r} does not declare capability {capability!r}")


def clip(seconds: float = CLIP_SECONDS, sample_rate: int = CLIP_RATE, seed: int = 0) -> np.ndarray:
    """A short music-like stereo float32 clip (the harness's generated music)."""
    from auralis_perf.signals import music

    return np.ascontiguousarray(music(seconds, sample_rate, channels=2, seed=seed), dtype=np.float32)


@pytest.fixture(scope="session")
def conformance_clip() -> tuple[np.ndarray, int]:
    return clip(), CLIP_RATE


@pytest.fixture(scope="session")
def conformance_file(tmp_path_factory: pytest.TempPathFactory, conformance_clip: tuple[np.ndarray, int]) -> Path:
    import soundfile as sf

    audio, sr = conformance_clip
    path = tmp_path_factory.mktemp("conformance") / "clip.wav"
    sf.write(path, audio, sr, subtype="FLOAT")
    return path
