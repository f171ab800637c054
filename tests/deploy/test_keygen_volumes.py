"""deploy/keygen.sh (compose's one-shot `keygen` service), run for real on directories standing in
for the volumes, combined with compose.yaml's mounts: who can read which key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from shared.keys import load_public_key, load_signing_key
from tests.deploy.compose_files import COMPOSE_FILE, KEYGEN_SCRIPT, load_yaml, mounts_of
from tests.support.procs import REPO_ROOT

KEY_VOLUMES = ("auth-keys", "service-keys", "public-keys", "router-keys")


def run_keygen(keys: Path, export: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        # the image's `python` is the venv's; here it is this interpreter
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "KEYS_DIR": str(keys),
        "KEYS_EXPORT_DIR": str(export),
    }
    return subprocess.run(
        ["sh", str(KEYGEN_SCRIPT)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def volumes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("volumes")
    result = run_keygen(root / "keys", root / "export")
    assert result.returncode == 0, result.stderr
    return {"keys": root / "keys", **{name: root / "export" / name for name in KEY_VOLUMES}}


def files_in(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def test_keygen_publishes_to_each_volume_exactly_the_halves_its_consumers_need(
    volumes: dict[str, Path],
) -> None:
    publics = {"public.pem", "service_public.pem", "router_public.pem"}
    everything = {"private.pem", "service_private.pem", "router_private.pem", *publics}
    assert files_in(volumes["keys"]) == everything
    assert files_in(volumes["auth-keys"]) == {"private.pem", *publics}
    assert files_in(volumes["service-keys"]) == {"service_private.pem", *publics}
    assert files_in(volumes["public-keys"]) == publics
    assert files_in(volumes["router-keys"]) == {"router_private.pem"}


def test_published_keys_are_the_generated_ones_and_private_halves_stay_owner_only(
    volumes: dict[str, Path],
) -> None:
    for name in KEY_VOLUMES:
        for path in volumes[name].iterdir():
            assert path.read_bytes() == (volumes["keys"] / path.name).read_bytes()
            mode = stat.S_IMODE(path.stat().st_mode)
            if path.name.endswith("private.pem"):
                assert mode == 0o600, (name, path.name, oct(mode))
                load_signing_key(path)
            else:
                load_public_key(path)


def test_a_second_run_keeps_the_keys_and_removes_a_key_a_volume_must_not_hold(tmp_path: Path) -> None:
    keys, export = tmp_path / "keys", tmp_path / "export"
    assert run_keygen(keys, export).returncode == 0
    before = {p.name: p.read_bytes() for p in keys.iterdir()}
    # e.g. left behind by an older layout: the user-token private key in the verify-only volume
    (export / "public-keys" / "private.pem").write_bytes(before["private.pem"])
    second = run_keygen(keys, export)
    assert second.returncode == 0, second.stderr
    assert {p.name: p.read_bytes() for p in keys.iterdir()} == before
    assert files_in(export / "public-keys") == {"public.pem", "service_public.pem", "router_public.pem"}
    assert not any(p.name.startswith(".") for v in KEY_VOLUMES for p in (export / v).iterdir())


def test_with_compose_mounts_only_auth_can_read_the_user_token_private_key(volumes: dict[str, Path]) -> None:
    services = load_yaml(COMPOSE_FILE)["services"]
    readable: dict[str, set[str]] = {}
    for name, service in services.items():
        if name == "keygen":
            continue
        readable[name] = set()
        for mount in mounts_of(service):
            if mount.source in volumes:
                readable[name] |= files_in(volumes[mount.source])
    holders = {name for name, files in readable.items() if "private.pem" in files}
    assert holders == {"auth"}
    assert {name for name, files in readable.items() if "service_private.pem" in files} == {"transactions"}
    for name in ("auth", "wallet", "transactions", "fraud", "history"):
        assert {"public.pem", "service_public.pem", "router_public.pem"} <= readable[name], name
    assert {name for name, files in readable.items() if "router_private.pem" in files} == {"router"}
    assert readable["router"] == {"router_private.pem"}
    assert readable["marketplace"] == readable["postgres"] == set()
