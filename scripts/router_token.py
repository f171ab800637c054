"""Print a fresh router credential, for exploring a subgraph's `_entities`, `_service` and
introspection by hand (GraphiQL's headers box, curl): `X-Router-Token: <token>`.

It needs keys/router_private.pem (the router's own key); anyone holding that file can speak as
the router, so it stays with the router and with developers on their own machine.
"""

from __future__ import annotations

import argparse
import json
import sys

from shared.settings import get_settings
from shared.tokens import ROUTER_SCOPE
from supergraph.credential import router_minter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help='print {"X-Router-Token": ...} for GraphiQL')
    args = parser.parse_args(argv)
    settings = get_settings()
    minter = router_minter(settings)
    if minter is None:
        print(f"{settings.router_private_key_path} is missing; run scripts/keygen first", file=sys.stderr)
        return 1
    token = minter.token([ROUTER_SCOPE])
    print(json.dumps({"X-Router-Token": token}) if args.json else token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
