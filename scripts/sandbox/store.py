"""The sandbox marketplace's domain: users, opaque signed tokens, a fixed catalogue, orders, notices.

No GraphQL or HTTP here. State lives in memory and, when a state file is given, is written to it
after every change (atomic replace), so a restarted sandbox still knows its orders and VAs.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class SandboxError(Exception):
    """A failure the marketplace reports to its caller as a GraphQL error with `code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Product:
    id: str
    nama: str
    harga: float  # rupiah per unit, a JavaScript number in the real service


# A small fixed catalogue. Prices and totals are floats, summed as the real (Node) service sums
# them: product 4 at 19999.99 + 20000 shipping is 39999.990000000005, not 39999.99.
CATALOGUE: dict[str, Product] = {
    "1": Product("1", "Minyak Sawit 1L", 10_000),
    "2": Product("2", "Bibit Sawit Unggul", 25_000),
    "3": Product("3", "Pupuk NPK 50kg", 150_000),
    "4": Product("4", "Pupuk Organik Cair 5L", 19_999.99),
}

# Shipping cost per method, whole rupiah.
SHIPPING: dict[str, int] = {"REGULER": 10_000, "EXPRESS": 20_000}

MAX_QUANTITY = 1_000


@dataclass
class User:
    id: str
    nama: str
    email: str
    password_hash: str
    salt: str
    role: str = "USER"
    is_active: bool = True

    @property
    def status_label(self) -> str:
        return "Aktif" if self.is_active else "Nonaktif"


@dataclass
class Order:
    id: str
    user_id: str
    product_id: str
    quantity: int
    harga_satuan: float
    ongkir: float
    total_harga: float
    alamat_pengiriman: str
    metode_pengiriman: str
    kota_tujuan_id: str | None
    nomor_va: str
    status: str = "PENDING"
    payment_status: str = "UNPAID"
    nomor_resi: str | None = None
    created_at: float = field(default_factory=time.time)
    paid_at: float | None = None


@dataclass
class Notice:
    """One `updatePaymentStatus` call as the marketplace saw it
    (outcome: ACCEPTED | REPEATED (same Idempotency-Key again, not applied again) | UNKNOWN_VA | DOWN)."""

    va_number: str
    status: str
    outcome: str
    at: float = field(default_factory=time.time)
    idempotency_key: str | None = None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hash_password(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 10_000).hex()


def offline_va() -> str:
    """The VA a marketplace order falls back to when the wallet cannot issue one."""
    return f"OFFLINE-{int(time.time() * 1000)}"


class Store:
    """Everything both sandbox services share; thread-safe enough for one asyncio loop + tests."""

    def __init__(
        self,
        *,
        state_file: Path | None = None,
        token_secret: bytes | None = None,
        token_ttl_s: int = 24 * 3600,
    ) -> None:
        self.state_file = state_file
        self.token_secret = token_secret or secrets.token_bytes(32)
        self.token_ttl_s = token_ttl_s
        self.users: dict[str, User] = {}
        self.orders: dict[str, Order] = {}
        self.notices: list[Notice] = []
        self._seq = 0
        self._lock = threading.Lock()
        # Test hooks (never persisted): root fields that answer HTTP 503, added latency.
        self.down_fields: set[str] = set()
        self.latency_ms: int = 0
        self.wallet_offline = False  # createOrder skips the wallet: OFFLINE-<millis> VAs
        if state_file is not None and state_file.exists():
            self._load(state_file)

    # ---- ids and persistence -------------------------------------------------------------
    def _next_id(self) -> str:
        self._seq += 1
        return str(self._seq)

    def _load(self, path: Path) -> None:
        raw = json.loads(path.read_text())
        self._seq = int(raw.get("seq", 0))
        self.users = {u["id"]: User(**u) for u in raw.get("users", [])}
        self.orders = {o["id"]: Order(**o) for o in raw.get("orders", [])}
        self.notices = [Notice(**n) for n in raw.get("notices", [])]

    def save(self) -> None:
        """Write the state file, if any (atomic replace)."""
        if self.state_file is None:
            return
        body: dict[str, Any] = {
            "seq": self._seq,
            "users": [dataclasses.asdict(u) for u in self.users.values()],
            "orders": [dataclasses.asdict(o) for o in self.orders.values()],
            "notices": [dataclasses.asdict(n) for n in self.notices[-1000:]],
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(self.state_file.suffix + ".tmp")
        tmp.write_text(json.dumps(body, indent=1))
        os.replace(tmp, self.state_file)

    # ---- users and tokens ----------------------------------------------------------------
    def register(self, nama: str, email: str, password: str) -> User:
        nama, email = nama.strip(), email.strip().lower()
        if not nama:
            raise SandboxError("BAD_USER_INPUT", "Nama wajib diisi")
        if "@" not in email:
            raise SandboxError("BAD_USER_INPUT", "Email tidak valid")
        if len(password) < 6:
            raise SandboxError("BAD_USER_INPUT", "Password minimal 6 karakter")
        with self._lock:
            if any(u.email == email for u in self.users.values()):
                raise SandboxError("CONFLICT", "Email sudah terdaftar")
            salt = secrets.token_hex(8)
            user = User(
                id=self._next_id(),
                nama=nama,
                email=email,
                password_hash=_hash_password(password, salt),
                salt=salt,
            )
            self.users[user.id] = user
            self.save()
        return user

    def login(self, email: str, password: str) -> tuple[str, User]:
        email = email.strip().lower()
        user = next((u for u in self.users.values() if u.email == email), None)
        if user is None or not hmac.compare_digest(user.password_hash, _hash_password(password, user.salt)):
            raise SandboxError("UNAUTHENTICATED", "Email atau password salah")
        return self.issue_token(user), user

    def issue_token(self, user: User) -> str:
        payload = _b64(
            json.dumps(
                {
                    "sub": user.id,
                    "email": user.email,
                    "exp": int(time.time()) + self.token_ttl_s,
                    "n": secrets.token_hex(4),
                },
                separators=(",", ":"),
            ).encode()
        )
        signature = _b64(hmac.new(self.token_secret, payload.encode(), hashlib.sha256).digest())
        return f"{payload}.{signature}"

    def user_of_token(self, token: str | None) -> User:
        """The user a token names; UNAUTHENTICATED for a missing, forged or expired token."""
        if not token:
            raise SandboxError("UNAUTHENTICATED", "Token diperlukan")
        token = token.strip()
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        payload, _, signature = token.partition(".")
        expected = _b64(hmac.new(self.token_secret, payload.encode(), hashlib.sha256).digest())
        if not signature or not hmac.compare_digest(signature, expected):
            raise SandboxError("UNAUTHENTICATED", "Token tidak valid")
        try:
            claims = json.loads(_unb64(payload))
        except ValueError:
            raise SandboxError("UNAUTHENTICATED", "Token tidak valid") from None
        if int(claims.get("exp", 0)) < time.time():
            raise SandboxError("UNAUTHENTICATED", "Token kedaluwarsa")
        user = self.users.get(str(claims.get("sub")))
        if user is None or not user.is_active:
            raise SandboxError("UNAUTHENTICATED", "Token tidak valid")
        return user

    # ---- orders ----------------------------------------------------------------------------
    @staticmethod
    def quote(product_id: str, quantity: int, metode_pengiriman: str) -> tuple[Product, float, float]:
        """(product, shipping, grand total) for an order, or BAD_USER_INPUT."""
        product = CATALOGUE.get(str(product_id))
        if product is None:
            raise SandboxError("NOT_FOUND", f"Produk {product_id} tidak ditemukan")
        if not 1 <= quantity <= MAX_QUANTITY:
            raise SandboxError("BAD_USER_INPUT", f"Jumlah harus 1..{MAX_QUANTITY}")
        method = metode_pengiriman.strip().upper()
        if method not in SHIPPING:
            raise SandboxError(
                "BAD_USER_INPUT", f"Metode pengiriman harus salah satu dari {sorted(SHIPPING)}"
            )
        ongkir = float(SHIPPING[method])
        return product, ongkir, product.harga * quantity + ongkir  # float arithmetic, as in JavaScript

    def add_order(
        self,
        user: User,
        *,
        product: Product,
        quantity: int,
        ongkir: float,
        total: float,
        alamat_pengiriman: str,
        metode_pengiriman: str,
        kota_tujuan_id: str,
        nomor_va: str,
    ) -> Order:
        with self._lock:
            order = Order(
                id=self._next_id(),
                user_id=user.id,
                product_id=product.id,
                quantity=quantity,
                harga_satuan=product.harga,
                ongkir=ongkir,
                total_harga=total,
                alamat_pengiriman=alamat_pengiriman,
                metode_pengiriman=metode_pengiriman.strip().upper(),
                kota_tujuan_id=kota_tujuan_id,
                nomor_va=nomor_va,
            )
            self.orders[order.id] = order
            self.save()
        return order

    def order_by_va(self, va_number: str) -> Order | None:
        # Newest first: a VA is unique in practice; if not, the latest order owns it.
        for order in reversed(list(self.orders.values())):
            if order.nomor_va == va_number:
                return order
        return None

    def orders_of(self, user: User) -> list[Order]:
        return [o for o in reversed(list(self.orders.values())) if o.user_id == user.id]

    def update_payment_status(self, va_number: str, status: str, idempotency_key: str | None = None) -> bool:
        """The payment notice: True and the order PAID/PROCESS with a resi; False for an unknown VA.

        Idempotent: a notice whose Idempotency-Key was already accepted is acknowledged and recorded
        as REPEATED, and changes nothing; a repeated PAID notice changes nothing either; PAID is final
        (a later other status is acknowledged but ignored). Shipping is booked (the resi) on PAID.
        """
        status = status.strip().upper()
        with self._lock:
            order = self.order_by_va(va_number)
            if order is None:
                self.notices.append(Notice(va_number, status, "UNKNOWN_VA", idempotency_key=idempotency_key))
                self.save()
                return False
            if idempotency_key and any(
                n.idempotency_key == idempotency_key and n.outcome == "ACCEPTED" for n in self.notices
            ):
                self.notices.append(Notice(va_number, status, "REPEATED", idempotency_key=idempotency_key))
                self.save()
                return True
            self.notices.append(Notice(va_number, status, "ACCEPTED", idempotency_key=idempotency_key))
            if order.payment_status != "PAID":
                if status == "PAID":
                    order.payment_status = "PAID"
                    order.status = "PROCESS"
                    order.paid_at = time.time()
                    order.nomor_resi = f"RESI-{order.id}-{secrets.token_hex(4).upper()}"
                else:
                    order.payment_status = status
            self.save()
            return True

    def record_refused_notice(self, va_number: str, status: str, idempotency_key: str | None = None) -> None:
        """A notice the sandbox refused because a test put it down (HTTP 503)."""
        with self._lock:
            self.notices.append(
                Notice(va_number, status.strip().upper(), "DOWN", idempotency_key=idempotency_key)
            )
