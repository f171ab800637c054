"""Generate the RSA key pairs in keys/: idempotent, and never overwrites unless --force is given.

keys/private.pem + public.pem sign and verify users' access tokens (private half: auth only);
keys/service_private.pem + service_public.pem sign and verify service tokens;
keys/router_private.pem + router_public.pem sign and verify the router's own credential (the
private half: the router only; subgraphs require it for _entities, _service and introspection).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shared.keys import kid_of, load_public_key, write_key_pair

PAIRS = (
    ("private.pem", "public.pem"),
    ("service_private.pem", "service_public.pem"),
    ("router_private.pem", "router_public.pem"),
)


def ensure_keys(keys_dir: Path, *, force: bool = False) -> list[str]:
    """Create every missing pair; returns lines describing what was done."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    report = []
    for private_name, public_name in PAIRS:
        private_path, public_path = keys_dir / private_name, keys_dir / public_name
        exists = private_path.exists() or public_path.exists()
        if exists and not force:
            if not (private_path.exists() and public_path.exists()):
                raise SystemExit(
                    f"{keys_dir}: only half of {private_name}/{public_name} exists; "
                    "restore it or run with --force to replace the pair"
                )
            kid = kid_of(load_public_key(public_path))
            report.append(f"kept    {private_name} / {public_name} (kid {kid})")
            continue
        write_key_pair(private_path, public_path)
        kid = kid_of(load_public_key(public_path))
        report.append(f"created {private_name} / {public_name} (kid {kid})")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys-dir", type=Path, default=None, help="default: $KEYS_DIR or keys/")
    parser.add_argument("--force", action="store_true", help="replace existing keys")
    args = parser.parse_args(argv)
    if args.keys_dir is None:
        from shared.settings import get_settings

        args.keys_dir = get_settings().keys_dir
    for line in ensure_keys(args.keys_dir, force=args.force):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
