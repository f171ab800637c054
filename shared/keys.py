"""RSA key files: generation (for scripts/keygen), loading, `kid` thumbprints and JWKS documents.

Two key pairs live in keys/: the user-token pair (private half only in auth) and the service-token
pair (private half only in services that call other services). Every process verifies with the
public halves; the `kid` in a token's header says which key signed it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

RSA_KEY_BITS = 2048


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def kid_of(public_key: rsa.RSAPublicKey) -> str:
    """RFC 7638 JWK thumbprint: a stable id derived from the key itself, so no registry is needed."""
    numbers = public_key.public_numbers()
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    canonical = json.dumps(
        {"e": _b64url(e), "kty": "RSA", "n": _b64url(n)}, separators=(",", ":"), sort_keys=True
    )
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def generate_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)


def write_key_pair(private_path: Path, public_path: Path) -> None:
    """Write a new pair; the private file is created 0600 before any byte is written to it."""
    key = generate_private_key()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    os.chmod(private_path, 0o600)
    public_path.write_bytes(public_pem)
    os.chmod(public_path, 0o644)


@dataclass(frozen=True)
class SigningKey:
    """A private key with its `kid`, used to sign tokens."""

    kid: str
    private_key: rsa.RSAPrivateKey


def load_signing_key(path: Path) -> SigningKey:
    data = path.read_bytes()
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key")
    return SigningKey(kid=kid_of(key.public_key()), private_key=key)


def load_public_key(path: Path) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError(f"{path} is not an RSA public key")
    return key


class KeySet:
    """Public keys by `kid`; filled from PEM files and/or JWKS documents."""

    def __init__(self) -> None:
        self._keys: dict[str, rsa.RSAPublicKey] = {}

    @classmethod
    def from_pem_files(cls, *paths: Path) -> KeySet:
        """The keys of those PEM files; a file that does not exist adds nothing."""
        keys = cls()
        for path in paths:
            keys.add_pem_file(path)
        return keys

    def add(self, key: rsa.RSAPublicKey, kid: str | None = None) -> str:
        key_id = kid or kid_of(key)
        self._keys[key_id] = key
        return key_id

    def add_pem_file(self, path: Path) -> str | None:
        if not path.exists():
            return None
        return self.add(load_public_key(path))

    def add_jwks(self, document: dict[str, Any]) -> int:
        added = 0
        for jwk in document.get("keys", []):
            if jwk.get("kty") != "RSA" or jwk.get("alg", "RS256") != "RS256" or "kid" not in jwk:
                continue
            key = RSAAlgorithm.from_jwk(jwk)
            if isinstance(key, rsa.RSAPublicKey):
                self._keys[str(jwk["kid"])] = key
                added += 1
        return added

    def get(self, kid: str) -> rsa.RSAPublicKey | None:
        return self._keys.get(kid)

    def __contains__(self, kid: object) -> bool:
        return kid in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def jwks(self) -> dict[str, Any]:
        """The JWKS document publishing these keys (auth's `/.well-known/jwks.json`)."""
        keys = []
        for kid, key in self._keys.items():
            jwk = RSAAlgorithm.to_jwk(key, as_dict=True)
            jwk.update({"kid": kid, "use": "sig", "alg": "RS256"})
            keys.append(jwk)
        return {"keys": keys}
