"""`python -m auralis_perf.bench engine|library [args]`: dispatch to the benchmark's `main(argv)`."""
from __future__ import annotations

import importlib
import sys

COMMANDS = {"engine": "auralis_perf.bench.engine", "library": "auralis_perf.bench.library"}


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        print(f"usage: python -m auralis_perf.bench {{{'|'.join(COMMANDS)}}} [options]   (--help for each)",
              file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[args[0]])
    return int(module.main(args[1:]) or 0)


if __name__ == "__main__":
    sys.exit(main())
