"""Key generation: idempotent, never overwrites unless asked, private keys readable by owner only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from scripts.keygen import ensure_keys, main
from shared.keys import KeySet, kid_of, load_public_key, load_signing_key


def test_keygen_creates_the_three_pairs_with_private_keys_mode_0600(tmp_path: Path) -> None:
    report = ensure_keys(tmp_path)
    assert [line.split()[0] for line in report] == ["created", "created", "created"]
    for name in ("private.pem", "service_private.pem", "router_private.pem"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    for name in ("public.pem", "service_public.pem", "router_public.pem"):
        assert (tmp_path / name).read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")


def test_running_keygen_again_keeps_the_existing_keys(tmp_path: Path) -> None:
    ensure_keys(tmp_path)
    before = (tmp_path / "private.pem").read_bytes()
    report = ensure_keys(tmp_path)
    assert all(line.startswith("kept") for line in report)
    assert (tmp_path / "private.pem").read_bytes() == before


def test_force_replaces_the_keys_and_changes_the_kid(tmp_path: Path) -> None:
    ensure_keys(tmp_path)
    old_kid = kid_of(load_public_key(tmp_path / "public.pem"))
    assert main(["--keys-dir", str(tmp_path), "--force"]) == 0
    assert kid_of(load_public_key(tmp_path / "public.pem")) != old_kid


def test_keygen_refuses_to_complete_half_a_pair(tmp_path: Path) -> None:
    ensure_keys(tmp_path)
    (tmp_path / "public.pem").unlink()
    with pytest.raises(SystemExit, match="only half"):
        ensure_keys(tmp_path)
    assert not (tmp_path / "public.pem").exists()


def test_the_kid_of_a_signing_key_matches_its_published_jwk(tmp_path: Path) -> None:
    ensure_keys(tmp_path)
    signing = load_signing_key(tmp_path / "private.pem")
    keys = KeySet()
    keys.add_pem_file(tmp_path / "public.pem")
    [jwk] = keys.jwks()["keys"]
    assert jwk["kid"] == signing.kid
    assert jwk["alg"] == "RS256" and jwk["use"] == "sig" and "d" not in jwk
