"""Command-line options of `run_report.py` / `python -m auralis_perf`, checked before anything runs.

Every mistake the user can make on the command line or in the configuration (unknown engine, profile or
category, missing audio, a bad thresholds file, mail asked for without an SMTP host) is a `UsageError`,
which the pipeline turns into exit code 3 before a single notebook starts.
"""
from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from auralis_perf.catalog import ThresholdsError, load_catalog
from auralis_perf.categories import CATEGORIES, NAMES
from auralis_perf.explain.budget import DEFAULT_BUDGET_S
from auralis_perf.explain.select import DEFAULT_EXPLAIN, EXPLAIN_CHOICES
from auralis_perf.run.against_spec import (
    DEFAULT_ROUND_PROCESS,
    DEFAULT_ROUNDS,
    ROUND_PROCESSES,
    AgainstSpec,
    check_against,
    parse_against,
)
from auralis_perf.run.audio_inputs import AudioChoice, choose_audio
from auralis_perf.suites import PROFILES

DEFAULT_PROFILE = "standard"
#: The profile of `--deterministic` runs (instruction counts only).
COUNTS_PROFILE = "counts"
#: Wall-time budget of one notebook when --timeout is not given, in seconds.
DEFAULT_TIMEOUTS = {"smoke": 600.0, "standard": 3600.0, "full": 6 * 3600.0}
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".mp3")
#: The category notebooks ship inside the package (package data), so an installed `auralis-perf` finds
#: them from any folder; a checkout's top-level notebooks/ is a link to this folder (what `make lab` opens).
DEFAULT_NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebook" / "notebooks"


class UsageError(Exception):
    """Bad usage or configuration (exit code 3). The message says what to change."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would exit 2, which means "a notebook failed" here
        raise UsageError(f"{self.prog}: {message}")


@dataclass(frozen=True)
class RunConfig:
    engines: tuple[str, ...]
    profile: str
    categories: tuple[str, ...]
    audio: tuple[Path, ...]
    out: Path
    timeout: float
    thresholds: Path | None
    email_to: tuple[str, ...]
    notebooks_dir: Path
    keep_work: bool = False
    progress: bool = True
    #: History store and baseline options (auralis_perf.regress.pipeline_step.HistoryOptions); None: defaults.
    history: Any = None
    #: Files for CI: append summary.md to this file; write a JUnit XML report here.
    summary_to: Path | None = None
    junit: Path | None = None
    #: --audio files found in folders but left out as unreadable: (path, problem), shown in the report.
    audio_skipped: tuple[tuple[Path, str], ...] = ()
    #: Which checks get a profile under them in the report (auralis_perf.explain): all | failing | none.
    explain: str = DEFAULT_EXPLAIN
    #: Wall seconds the explain step may spend per engine, most important failures first (0: no limit).
    explain_budget: float = DEFAULT_BUDGET_S
    #: Count the instructions of the key engine calls (auralis_perf.counts) beside the notebooks' figures.
    instructions: bool = False
    #: --against: the baseline engine measured beside the candidate (run/against_spec.AgainstSpec), its rounds.
    against: Any = None
    rounds: int = DEFAULT_ROUNDS
    #: --against-round-process: each round measured in a fresh process ("fresh"), in the side's kernel
    #: ("kernel"), or in fresh processes of both sides taking turns ("interleaved").
    round_process: str = DEFAULT_ROUND_PROCESS
    #: --against-floor: the paired verdicts' floor for every check (None: each check's own `floor`).
    against_floor: float | None = None

    @property
    def multi_engine(self) -> bool:
        return len(self.engines) > 1


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="run_report.py", description=(
        "Run the category notebooks on an engine and write results.json and one self-contained report.html. "
        "Exit codes: 0 every critical threshold held; 1 a critical threshold was missed; 2 a notebook failed "
        "or timed out, or a check could not be measured; 3 bad usage or configuration; 4 a critical check "
        "regressed against the baseline. The history dashboard is `auralis-perf dashboard` (--help there)."))
    p.add_argument("--profile", default=DEFAULT_PROFILE, choices=PROFILES,
                   help="smoke (seconds, what the tests use), standard (default, minutes), full (the catalogue's sizes)")
    p.add_argument("--engine", default="reference", metavar="NAME[,NAME]",
                   help="engine(s) to measure, by registered name or as package.module:Factory for an adapter "
                        "of your own; a comma list runs each engine's notebooks separately and compares them "
                        "in one report (default: reference)")
    p.add_argument("--categories", default=",".join(NAMES), metavar="LIST",
                   help="comma list of categories or ID prefixes: "
                        + ", ".join(f"{c.name} ({c.prefix})" for c in CATEGORIES) + " (default: all)")
    p.add_argument("--audio", action="append", nargs="+", default=[], metavar="FILES_OR_DIR",
                   help="your own audio files or folders (searched for "
                        + " ".join(AUDIO_SUFFIXES) + "); default: generated music-like audio")
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder (default: reports/<UTC timestamp>-<engine>-<profile>/)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="wall-time budget of each notebook (default: "
                        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_TIMEOUTS.items()) + ")")
    p.add_argument("--thresholds", type=Path, metavar="FILE",
                   help="a thresholds TOML file with every check (default: auralis_perf/catalog.toml)")
    p.add_argument("--email-to", default="", metavar="ADDR[,ADDR]",
                   help="mail the report; SMTP settings come from AURALIS_PERF_SMTP_* environment variables")
    p.add_argument("--notebooks", type=Path, default=DEFAULT_NOTEBOOKS, metavar="DIR",
                   help="folder with the category notebooks NN_<category>.ipynb (default: the ones shipped with the package)")
    p.add_argument("--keep-work", action="store_true",
                   help="keep the scratch folder (generated audio, libraries, caches) after the run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar; one line per group instead")
    p.add_argument("--summary-to", type=Path, metavar="PATH",
                   help="append the run's summary.md (Markdown) to PATH, e.g. $GITHUB_STEP_SUMMARY")
    p.add_argument("--instructions", action="store_true",
                   help="also count the instructions of the key engine calls under Valgrind (deterministic figures)")
    p.add_argument("--deterministic", action="store_true",
                   help="only the instruction counts, no notebooks: profile 'counts', for CI gates (needs Valgrind)")
    p.add_argument("--junit", type=Path, metavar="PATH", help="write a JUnit XML report, one testcase per check")
    p.add_argument("--explain", choices=EXPLAIN_CHOICES, default=DEFAULT_EXPLAIN,
                   help="profile timing and memory checks in one extra, untimed run of their group and show where "
                        "the time or memory went under the check: 'failing' (default) those that miss a tier or "
                        "regress, 'all' every one, 'none' no profiling")
    p.add_argument("--explain-budget", type=float, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                   help=f"wall seconds the explain step may spend per engine (default {DEFAULT_BUDGET_S:g}; 0: no "
                        "limit): critical misses first, then regressions, then other misses, cheapest first; "
                        "what it leaves out is listed as not profiled")
    p.add_argument("--against", metavar="SPEC",
                   help="measure a baseline engine beside the candidate in this run and judge them in pairs (no "
                        "history needed): ENGINE or package.module:Factory, optionally @python=/path/to/python "
                        "(its own interpreter) or @path=/source/tree (first on its PYTHONPATH)")
    p.add_argument("--against-rounds", type=int, default=DEFAULT_ROUNDS, metavar="N",
                   help=f"with --against: rounds of each timing group per side (default {DEFAULT_ROUNDS}; "
                        "at least 8 for a paired verdict)")
    p.add_argument("--against-round-process", choices=ROUND_PROCESSES, default=DEFAULT_ROUND_PROCESS,
                   help=f"with --against: where each round of a timing group is measured: 'fresh', a new process "
                        "per round, so that one process's own speed (its memory layout) is noise the paired test "
                        "weighs rather than a bias of the whole run; 'kernel', in the side's notebook kernel "
                        "(cheaper, no start-up per round); 'interleaved', fresh processes of both sides at once "
                        "that take turns sample by sample on one CPU, so that a burst of load hits both samples "
                        "of a pair. "
                        f"Default {DEFAULT_ROUND_PROCESS}")
    p.add_argument("--against-floor", type=float, metavar="FRACTION",
                   help="with --against: the smallest relative change a paired verdict calls a change, for every "
                        "check (default: each check's paired_floor in the thresholds file, 0.03 unless set)")
    from auralis_perf.regress.options import add_history_arguments  # --history-url, --baseline, ...

    add_history_arguments(p)
    return p


def parse_config(argv: Sequence[str] | None = None, *, now: datetime | None = None) -> RunConfig:
    """Parse and check the command line; raises UsageError on anything that would fail later."""
    args = build_parser().parse_args(argv)
    engines = resolve_engines(args.engine)
    categories = () if args.deterministic else _categories(args.categories)
    if args.deterministic:
        args.profile = COUNTS_PROFILE  # its own history series: counts compare with counts
    thresholds = _thresholds(args.thresholds)
    audio_choice = choose_audio_args([p for group in args.audio for p in group])
    timeout = args.timeout if args.timeout is not None else DEFAULT_TIMEOUTS.get(args.profile, 3600.0)
    if not timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    if args.explain_budget < 0 or args.explain_budget != args.explain_budget:
        raise UsageError(f"--explain-budget must be 0 (no limit) or a positive number of seconds, got {args.explain_budget:g}")
    email_to = tuple(a.strip() for a in args.email_to.split(",") if a.strip())
    if email_to:
        _check_mail(email_to)
    notebooks_dir = args.notebooks.resolve()
    for category in categories:
        notebook_path(notebooks_dir, category)  # fail now, not after the first notebooks ran
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or Path("reports") / f"{stamp}-{'+'.join(map(path_safe, engines))}-{args.profile}"
    against = _against(args, engines)
    history = None if against is not None else _history(args, out.resolve())
    summary_to, junit = _output_file("--summary-to", args.summary_to), _output_file("--junit", args.junit)
    return RunConfig(engines=engines, profile=args.profile, categories=categories, audio=audio_choice.files,
                     audio_skipped=audio_choice.skipped,
                     out=out.resolve(), timeout=timeout, thresholds=thresholds, email_to=email_to,
                     notebooks_dir=notebooks_dir, keep_work=args.keep_work, progress=not args.no_progress,
                     history=history, summary_to=summary_to, junit=junit, explain=args.explain,
                     explain_budget=args.explain_budget,
                     instructions=args.instructions or args.deterministic, against=against,
                     rounds=args.against_rounds, round_process=args.against_round_process,
                     against_floor=args.against_floor)


def _against(args: argparse.Namespace, engines: tuple[str, ...]) -> AgainstSpec | None:
    """The --against spec, checked (its interpreter probed); UsageError for anything that would fail later."""
    if args.against is None:
        if args.against_floor is not None:
            raise UsageError("--against-floor needs --against")
        return None
    if args.against_floor is not None and not 0 < args.against_floor < 1:
        raise UsageError(f"--against-floor is a fraction between 0 and 1 (0.05 for 5 %), got {args.against_floor:g}")
    if len(engines) != 1:
        raise UsageError("--against compares one candidate engine with one baseline: give a single --engine")
    if args.deterministic or args.instructions:
        raise UsageError("--against does not take --instructions or --deterministic (counts need no pairing)")
    if args.save_baseline or args.baseline or args.cross_machine:
        raise UsageError("--against measures its own baseline: drop --baseline, --save-baseline and --cross-machine")
    if args.against_rounds < 1:
        raise UsageError(f"--against-rounds must be at least 1, got {args.against_rounds}")
    try:
        spec = parse_against(args.against)
        check_against(spec)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if spec.python is None and spec.path is None:  # else the engine is looked up in the baseline's kernel
        resolve_engines(spec.engine)
    return spec


def path_safe(name: str) -> str:
    """An engine name as a folder name (an adapter path such as pkg.mod:Factory has a colon)."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name)


def notebook_path(notebooks_dir: Path, category: str) -> Path:
    """The notebook of a category: the one file NN_<category>.ipynb in the folder."""
    found = sorted(notebooks_dir.glob(f"[0-9][0-9]_{category}.ipynb"))
    if len(found) != 1:
        what = "no" if not found else f"{len(found)}"
        raise UsageError(f"{notebooks_dir}: {what} notebook named NN_{category}.ipynb for category {category!r}")
    return found[0]


def resolve_engines(raw: str) -> tuple[str, ...]:
    """The engines of a comma list (registered names or package.module:Factory paths); UsageError if unknown."""
    from auralis_perf.engines import EngineError, check_installed, engine_names, register_engine_path

    names = tuple(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    if not names:
        raise UsageError("--engine needs at least one engine name")
    for name in names:
        register_engine_path(name)
    unknown = [n for n in names if n not in engine_names()]
    if unknown:
        raise UsageError(f"unknown engine {', '.join(map(repr, unknown))}; known engines: {', '.join(engine_names())}")
    for name in names:
        try:
            check_installed(name)
        except EngineError as exc:
            raise UsageError(f"engine {name!r}: {exc}") from None
    return names


def _categories(raw: str) -> tuple[str, ...]:
    by_name = {**{c.name: c.name for c in CATEGORIES}, **{c.prefix.lower(): c.name for c in CATEGORIES}}
    chosen = []
    for item in (i.strip().lower() for i in raw.split(",") if i.strip()):
        if item not in by_name:
            raise UsageError(f"unknown category {item!r}; choose from "
                             + ", ".join(f"{c.name} ({c.prefix})" for c in CATEGORIES))
        chosen.append(by_name[item])
    if not chosen:
        raise UsageError("--categories needs at least one category")
    # Catalogue order, whatever order the user typed them in.
    return tuple(c for c in NAMES if c in chosen)


def _thresholds(path: Path | None) -> Path | None:
    if path is None:
        return None
    try:
        load_catalog(path, require_all=True)
    except ThresholdsError as exc:
        raise UsageError(f"bad thresholds file: {exc}") from exc
    return path.resolve()


def choose_audio_args(paths: Sequence[str]) -> AudioChoice:
    """The --audio files, each probed (decoded end to end) before anything runs; see run/audio_inputs."""
    named: list[Path] = []
    found_in_folders: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                raise UsageError(f"--audio {raw}: the folder holds no audio file ({' '.join(AUDIO_SUFFIXES)})")
            found_in_folders.extend(p.resolve() for p in found)
        elif path.is_file():
            named.append(path.resolve())
        else:
            raise UsageError(f"--audio {raw}: no such file or folder")
    named = list(dict.fromkeys(named))
    try:
        return choose_audio(named, [p for p in dict.fromkeys(found_in_folders) if p not in named])
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def resolve_audio(paths: Sequence[str]) -> tuple[Path, ...]:
    """The usable audio files that `paths` name (files, or folders searched for AUDIO_SUFFIXES); UsageError if
    none, or if a file named one by one is unusable (see choose_audio_args)."""
    return choose_audio_args(paths).files


def _history(args: argparse.Namespace, out: Path) -> Any:
    """History options; the default store is history.sqlite in the folder that holds the run folder."""
    from auralis_perf.regress.options import HistoryOptions

    options = HistoryOptions.from_args(args, reports_dir=out.parent)
    if options.usage_problems():
        raise UsageError("; ".join(options.usage_problems()))
    return options


def _output_file(option: str, path: Path | None) -> Path | None:
    """A file the run writes at its end (missing folders are made then): refuse now what cannot be a file,
    not after an hour of measuring."""
    if path is None:
        return None
    path = path.expanduser().resolve()
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder, give a file name")
    blocking = next((p for p in path.parents if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise UsageError(f"{option} {path}: {blocking} is a file, not a folder")
    return path


def _check_mail(addresses: Sequence[str]) -> None:
    from auralis_perf.run.mail import MailConfigError, SmtpConfig

    bad = [a for a in addresses if "@" not in a or any(c.isspace() for c in a)]
    if bad:
        raise UsageError(f"--email-to: not an e-mail address: {', '.join(bad)}")
    try:
        SmtpConfig.from_env(os.environ)
    except MailConfigError as exc:
        raise UsageError(f"--email-to needs SMTP settings: {exc}") from exc
