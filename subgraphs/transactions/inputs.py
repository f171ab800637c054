"""The createTransaction input: its shape per type (blanks removed, limits checked) and its
identity, what makes two calls with one idempotency key 'the same input'."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from shared.db import has_nul
from shared.errors import bad_input
from subgraphs.transactions.models import TxType
from subgraphs.transactions.rules import DESCRIPTION_MAX, clean

IDEMPOTENCY_KEY_MAX = 128
ID_MAX = 64
USERNAME_MAX = 64
VA_MAX = 64


@dataclass(frozen=True)
class CreateTransactionInput:
    wallet_id: str
    amount_minor: int  # sen
    type: TxType
    va_number: str | None = None
    to_wallet_id: str | None = None
    description: str | None = None
    idempotency_key: str | None = None
    to_username: str | None = None


# The input's texts, cleaned alike (NUL refused, blanks removed): (attribute, GraphQL name).
_TEXT_FIELDS = (
    ("wallet_id", "walletId"),
    ("va_number", "vaNumber"),
    ("to_wallet_id", "toWalletId"),
    ("to_username", "toUsername"),
    ("description", "description"),
    ("idempotency_key", "idempotencyKey"),
)


def normalise_input(raw: CreateTransactionInput) -> CreateTransactionInput:
    """The input with blanks removed, or BAD_USER_INPUT when its fields do not fit its type."""
    for attribute, name in _TEXT_FIELDS:
        if has_nul(getattr(raw, attribute)):
            raise bad_input(f"{name} must not contain a NUL character", field=name)
    inp = replace(raw, **{attribute: clean(getattr(raw, attribute)) for attribute, _ in _TEXT_FIELDS})
    if inp.wallet_id is None or len(inp.wallet_id) > ID_MAX:
        raise bad_input("walletId is required", field="walletId")
    if inp.type is not TxType.TRANSFER and inp.to_username is not None:
        raise bad_input(f"A {inp.type.value} takes no toUsername", field="toUsername")
    _check_shape(inp)
    if inp.description is not None and len(inp.description) > DESCRIPTION_MAX:
        raise bad_input(f"description may have at most {DESCRIPTION_MAX} characters", field="description")
    if inp.idempotency_key is not None and len(inp.idempotency_key) > IDEMPOTENCY_KEY_MAX:
        raise bad_input(
            f"idempotencyKey may have at most {IDEMPOTENCY_KEY_MAX} characters", field="idempotencyKey"
        )
    return inp


def _check_shape(inp: CreateTransactionInput) -> None:
    """The fields each type takes: a DEPOSIT nothing more, a PAYMENT its bill's VA, a TRANSFER exactly
    one receiver (a wallet id or a username) other than its own wallet."""
    va, to_wallet, to_username = inp.va_number, inp.to_wallet_id, inp.to_username
    if inp.type is TxType.DEPOSIT:
        if va is not None:
            raise bad_input("A DEPOSIT takes no vaNumber", field="vaNumber")
        if to_wallet is not None:
            raise bad_input("A DEPOSIT takes no toWalletId", field="toWalletId")
    elif inp.type is TxType.PAYMENT:
        if va is None:
            raise bad_input("A PAYMENT needs the vaNumber of the bill", field="vaNumber")
        if to_wallet is not None:
            raise bad_input("A PAYMENT takes no toWalletId", field="toWalletId")
        if len(va) > VA_MAX:
            raise bad_input("vaNumber is too long", field="vaNumber")
    elif inp.type is TxType.TRANSFER:
        if (to_wallet is None) == (to_username is None):
            raise bad_input("A TRANSFER needs exactly one of toWalletId and toUsername", field="toWalletId")
        if va is not None:
            raise bad_input("A TRANSFER takes no vaNumber", field="vaNumber")
        if to_wallet is not None and len(to_wallet) > ID_MAX:
            raise bad_input("toWalletId is too long", field="toWalletId")
        if to_username is not None and len(to_username) > USERNAME_MAX:
            raise bad_input("toUsername is too long", field="toUsername")
        if to_wallet == inp.wallet_id:
            raise bad_input("A TRANSFER needs two different wallets", field="toWalletId")


def request_hash(inp: CreateTransactionInput) -> str:
    """What makes two calls with one idempotency key 'the same input'. (`toUsername` is appended
    only when given, so the hashes of transactions recorded before it existed stay the same.)"""
    fields: list[object] = [inp.wallet_id, inp.amount_minor, inp.type.value, inp.va_number, inp.to_wallet_id]
    fields.append(inp.description)
    if inp.to_username is not None:
        fields.append({"toUsername": inp.to_username})
    canonical = json.dumps(fields, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
