"""Pure rules of the transactions subgraph: input shapes, request identity, VA numbers, backoff."""

from __future__ import annotations

import pytest

from shared.errors import AppError
from subgraphs.transactions.models import TxType
from subgraphs.transactions.service import (
    CreateTransactionInput,
    new_va_number,
    normalise_input,
    request_hash,
)
from subgraphs.transactions.workers import backoff_s


def test_outbox_backoff_doubles_from_the_base_is_capped_and_jittered_between_half_and_all() -> None:
    assert [backoff_s(n, 0.5, 4.0, jitter=lambda: 1.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert [backoff_s(n, 0.5, 4.0, jitter=lambda: 0.0) for n in range(1, 5)] == [0.25, 0.5, 1.0, 2.0]
    drawn = {backoff_s(3, 0.5, 4.0) for _ in range(50)}
    assert len(drawn) > 1 and all(1.0 <= d <= 2.0 for d in drawn)
    assert backoff_s(10_000, 0.5, 900.0, jitter=lambda: 1.0) == 900.0  # no overflow after many tries


def test_va_numbers_are_ds_8800_and_ten_random_digits() -> None:
    numbers = {new_va_number() for _ in range(200)}
    assert len(numbers) == 200
    assert all(n.startswith("DS-8800") and len(n) == 17 and n[7:].isdigit() for n in numbers)


def test_blank_optional_fields_are_absent_and_the_request_identity_ignores_the_key() -> None:
    raw = CreateTransactionInput(
        wallet_id=" w1 ",
        amount=100,
        type=TxType.DEPOSIT,
        va_number="  ",
        description=" ",
        idempotency_key="k",
    )
    clean = normalise_input(raw)
    assert (clean.wallet_id, clean.va_number, clean.description) == ("w1", None, None)
    other_key = CreateTransactionInput(wallet_id="w1", amount=100, type=TxType.DEPOSIT, idempotency_key="z")
    assert request_hash(clean) == request_hash(normalise_input(other_key))
    more = CreateTransactionInput(wallet_id="w1", amount=101, type=TxType.DEPOSIT)
    assert request_hash(clean) != request_hash(normalise_input(more))


@pytest.mark.parametrize("field", ["description", "idempotency_key"])
def test_overlong_texts_are_bad_user_input(field: str) -> None:
    raw = CreateTransactionInput(wallet_id="w1", amount=1, type=TxType.DEPOSIT, **{field: "x" * 300})
    with pytest.raises(AppError) as caught:
        normalise_input(raw)
    assert caught.value.code == "BAD_USER_INPUT"
