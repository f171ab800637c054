"""`sawit-compose`: compose a Rover `supergraph.yaml` into a supergraph SDL file."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from supergraph.compose import CompositionError
from supergraph.rover_config import ConfigError, compose_from_config


def main(argv: list[str] | None = None) -> int:
    """Compose and write the SDL; exit code 1 with the errors on stderr when it does not compose."""
    parser = argparse.ArgumentParser(prog="sawit-compose", description=__doc__)
    parser.add_argument(
        "--config", default="supergraph.yaml", help="Rover supergraph.yaml (default: %(default)s)"
    )
    parser.add_argument("-o", "--output", help="write the SDL here (default: stdout)")
    args = parser.parse_args(argv)
    try:
        sdl = asyncio.run(compose_from_config(args.config))
    except (ConfigError, CompositionError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if args.output:
        Path(args.output).write_text(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
