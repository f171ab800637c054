"""Pure rules of the transactions subgraph: input shapes, request identity, VA numbers, backoff."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from shared.errors import AppError, ErrorCode
from shared.throttle import MemoryThrottle
from subgraphs.transactions.models import TxType
from subgraphs.transactions.recipients import Recipients, mask_name
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
        amount_minor=100,
        type=TxType.DEPOSIT,
        va_number="  ",
        description=" ",
        idempotency_key="k",
    )
    clean = normalise_input(raw)
    assert (clean.wallet_id, clean.va_number, clean.description) == ("w1", None, None)
    other_key = CreateTransactionInput(
        wallet_id="w1", amount_minor=100, type=TxType.DEPOSIT, idempotency_key="z"
    )
    assert request_hash(clean) == request_hash(normalise_input(other_key))
    more = CreateTransactionInput(wallet_id="w1", amount_minor=101, type=TxType.DEPOSIT)
    assert request_hash(clean) != request_hash(normalise_input(more))


@pytest.mark.parametrize("field", ["description", "idempotency_key"])
def test_overlong_texts_are_bad_user_input(field: str) -> None:
    raw = CreateTransactionInput(wallet_id="w1", amount_minor=1, type=TxType.DEPOSIT, **{field: "x" * 300})
    with pytest.raises(AppError) as caught:
        normalise_input(raw)
    assert caught.value.code == "BAD_USER_INPUT"


class _FakeAuth:
    def __init__(self, users: dict[str, tuple[str, str]]) -> None:
        self.users = users  # username -> (id, fullname)
        self.calls = 0

    async def lookup(self, *, username: str | None = None, user_id: str | None = None):  # noqa: ANN201
        from subgraphs.transactions.clients import UserLookup

        self.calls += 1
        found = self.users.get(username or "")
        return UserLookup(found[0], username or "", found[1]) if found else None


class _FakeWallet:
    def __init__(self, defaults: dict[str, str]) -> None:
        self.defaults = defaults  # user id -> wallet id

    async def default_wallet_of(self, user_id: str) -> str | None:
        return self.defaults.get(user_id)


def _recipients(limit: int = 30) -> tuple[Recipients, _FakeAuth]:
    auth = _FakeAuth({"bob": ("u-bob", "Bob Marley"), "nowallet": ("u-nw", "No Wallet")})
    clients = SimpleNamespace(auth=auth, wallet=_FakeWallet({"u-bob": "w-bob"}))
    return Recipients(clients, MemoryThrottle(limit, 60.0)), auth  # type: ignore[arg-type]


def test_a_display_name_is_masked_word_by_word() -> None:
    assert mask_name("Naruto Uzumaki") == "Na**** Uz*****"
    assert mask_name("Ali bin Abu") == "A** b** A**"
    assert mask_name("  ") == "*"


async def test_a_recipient_by_username_gives_the_masked_name_and_the_receiving_wallet() -> None:
    recipients, _ = _recipients()
    found = await recipients.by_username(" bob ", throttle_keys=("user:a",))
    assert (found.user_id, found.username, found.display_name, found.wallet_id) == (
        "u-bob", "bob", "B** Ma****", "w-bob",
    )  # fmt: skip


async def test_an_unknown_name_and_a_user_who_cannot_receive_get_the_same_answer() -> None:
    recipients, _ = _recipients()
    answers = []
    for name in ("nobody", "nowallet", "x" * 65, "bo\x00b"):
        with pytest.raises(AppError) as caught:
            await recipients.by_username(name, throttle_keys=("user:a",))
        answers.append((caught.value.code, caught.value.message))
    assert len(set(answers)) == 1 and answers[0][0] == ErrorCode.NOT_FOUND


async def test_recipient_lookups_are_throttled_per_user_and_per_client() -> None:
    recipients, auth = _recipients(limit=3)
    for _ in range(3):
        await recipients.by_username("bob", throttle_keys=("user:a", "client:1.2.3.4"))
    with pytest.raises(AppError) as caught:
        await recipients.by_username("bob", throttle_keys=("user:b", "client:1.2.3.4"))  # same client
    assert caught.value.code == ErrorCode.RATE_LIMITED
    with pytest.raises(AppError):
        await recipients.by_username("bob", throttle_keys=("user:a", "client:5.6.7.8"))  # same user
    assert auth.calls == 3  # a refused lookup asks nobody
    await recipients.by_username("bob", throttle_keys=("user:c", "client:9.9.9.9"))


def test_a_transfer_takes_exactly_one_of_to_wallet_id_and_to_username() -> None:
    both = CreateTransactionInput(
        wallet_id="w1", amount_minor=100, type=TxType.TRANSFER, to_wallet_id="w2", to_username="bob"
    )
    neither = CreateTransactionInput(wallet_id="w1", amount_minor=100, type=TxType.TRANSFER)
    for raw in (both, neither):
        with pytest.raises(AppError) as caught:
            normalise_input(raw)
        assert caught.value.code == ErrorCode.BAD_USER_INPUT
    deposit = CreateTransactionInput(wallet_id="w1", amount_minor=100, type=TxType.DEPOSIT, to_username="bob")
    with pytest.raises(AppError) as caught:
        normalise_input(deposit)
    assert caught.value.details.get("field") == "toUsername"
    assert (
        normalise_input(
            CreateTransactionInput(wallet_id="w1", amount_minor=1, type=TxType.TRANSFER, to_username=" bob ")
        ).to_username
        == "bob"
    )
