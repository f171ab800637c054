"""What the transactions subgraph asks the wallet to pay people and show receivers: who owns a wallet,
which wallet receives money sent by name, and a statement filtered by direction."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.clock import utcnow
from shared.errors import AppError, ErrorCode
from subgraphs.wallet.models import Direction, WalletStatus
from subgraphs.wallet.service import WalletOwnerRecord, WalletService, operations_t, wallets_t
from tests.support.tokens import service_token, user_token
from tests.wallet.conftest import InProcessWallet
from tests.wallet.helpers import ALL_SCOPES, DEDUCT, REVERSE, TOPUP, TRANSFER, error_code, new_id
from tests.wallet.test_schema import make_wallet

OWNER = "query($w: ID!) { walletOwner(walletId: $w) { walletId ownerId status } }"
DEFAULT = "query($u: ID!) { defaultWalletOf(userId: $u) }"
FREEZE = "mutation($w: ID!) { freezeWallet(walletId: $w) { status } }"
STATEMENT = """query($w: ID!, $d: String) { wallet(walletId: $w) {
  entries(direction: $d) { direction amount transactionId } } }"""


async def test_a_service_learns_who_owns_a_wallet_and_null_when_there_is_none(
    wallet_app: InProcessWallet,
) -> None:
    owner = new_id()
    wallet_id = await make_wallet(wallet_app, owner)
    service = service_token("wallet:read")
    found = await wallet_app.gql(OWNER, service, w=wallet_id)
    assert found["data"]["walletOwner"] == {"walletId": wallet_id, "ownerId": owner, "status": "ACTIVE"}
    for missing in ("no-such-wallet", "x" * 65, "a\x00b"):
        assert (await wallet_app.gql(OWNER, service, w=missing))["data"]["walletOwner"] is None


async def test_money_sent_by_name_goes_to_the_oldest_active_wallet_or_nowhere(
    wallet_app: InProcessWallet,
) -> None:
    user = new_id()
    service = service_token("wallet:read")
    assert (await wallet_app.gql(DEFAULT, service, u=user))["data"]["defaultWalletOf"] is None
    first = await make_wallet(wallet_app, user, "first")
    await make_wallet(wallet_app, user, "second")
    assert (await wallet_app.gql(DEFAULT, service, u=user))["data"]["defaultWalletOf"] == first
    admin = user_token(new_id(), role="ADMIN")
    assert error_code(await wallet_app.gql(FREEZE, admin, w=first)) is None
    second = (await wallet_app.gql(DEFAULT, service, u=user))["data"]["defaultWalletOf"]
    assert second not in (None, first)


@pytest.mark.parametrize("query", [OWNER, DEFAULT])
async def test_user_tokens_and_anonymous_callers_cannot_look_wallets_up(
    wallet_app: InProcessWallet, query: str
) -> None:
    variables = {"w": "w"} if "walletId" in query else {"u": "u"}
    assert error_code(await wallet_app.gql(query, user_token(new_id()), **variables)) == "FORBIDDEN"
    assert error_code(await wallet_app.gql(query, None, **variables)) == "UNAUTHENTICATED"


async def test_a_statement_can_show_only_money_in_or_only_money_out(wallet_app: InProcessWallet) -> None:
    owner = new_id()
    wallet_id = await make_wallet(wallet_app, owner, amount=1_000)
    debit = {"transactionId": new_id(), "userId": owner, "walletId": wallet_id, "amount": 300}
    assert error_code(await wallet_app.gql(DEDUCT, service_token(*ALL_SCOPES), input=debit)) is None
    token = user_token(owner)
    credits = (await wallet_app.gql(STATEMENT, token, w=wallet_id, d="CREDIT"))["data"]["wallet"]["entries"]
    debits = (await wallet_app.gql(STATEMENT, token, w=wallet_id, d="DEBIT"))["data"]["wallet"]["entries"]
    both = (await wallet_app.gql(STATEMENT, token, w=wallet_id, d=None))["data"]["wallet"]["entries"]
    assert [e["direction"] for e in credits] == ["CREDIT"] and [e["amount"] for e in credits] == ["1000.00"]
    assert [e["transactionId"] for e in debits] == [debit["transactionId"]]
    assert len(both) == 2
    bad = await wallet_app.gql(STATEMENT, token, w=wallet_id, d="SIDEWAYS")
    assert error_code(bad) == "BAD_USER_INPUT"


async def test_every_ledger_result_names_the_owner_of_its_wallet(wallet_app: InProcessWallet) -> None:
    alice, bob = new_id(), new_id()
    source = await make_wallet(wallet_app, alice, amount=500)
    target = await make_wallet(wallet_app, bob)
    move = {"transactionId": new_id(), "userId": alice, "amount": 200}
    move.update({"fromWalletId": source, "toWalletId": target})
    body = await wallet_app.gql(TRANSFER, service_token(*ALL_SCOPES), input=move)
    result = body["data"]["transferWallet"]
    assert (result["debit"]["ownerId"], result["credit"]["ownerId"]) == (alice, bob)


# ---- LedgerResult.ownerId ------------------------------------------------------------------------

LEDGER_RESULT_SDL_FIELD = "ownerId: ID!"


async def test_topup_deduct_reversal_and_their_replays_all_name_the_wallets_owner(
    wallet_app: InProcessWallet,
) -> None:
    owner = new_id()
    wallet_id = await make_wallet(wallet_app, owner)
    token = service_token(*ALL_SCOPES)
    topup = {"transactionId": new_id(), "userId": owner, "walletId": wallet_id, "amount": 700}
    deduct = {"transactionId": new_id(), "userId": owner, "walletId": wallet_id, "amount": 200}
    reverse = {"transactionId": deduct["transactionId"], "reversalId": new_id()}

    results = []
    for _ in range(2):  # the second round replays every transaction id
        results.append((await wallet_app.gql(TOPUP, token, input=topup))["data"]["topupWallet"])
        results.append((await wallet_app.gql(DEDUCT, token, input=deduct))["data"]["deductWallet"])
        results.extend((await wallet_app.gql(REVERSE, token, input=reverse))["data"]["reverseLedger"])

    # Each movement has two sides: the wallet's (named by its owner) and a system account's.
    assert [r["replayed"] for r in results] == [False] * 4 + [True] * 4
    assert [r["ownerId"] for r in results if not r["walletId"].startswith("sys:")] == [owner] * 6
    assert {r["ownerId"] for r in results if r["walletId"].startswith("sys:")} == {"system"}


async def test_a_transfer_replay_names_both_owners_even_if_recorded_before_owners_were_kept(
    wallet_app: InProcessWallet,
) -> None:
    alice, bob = new_id(), new_id()
    source = await make_wallet(wallet_app, alice, amount=500)
    target = await make_wallet(wallet_app, bob)
    move = {"transactionId": new_id(), "userId": alice, "fromWalletId": source, "toWalletId": target}
    move["amount"] = 200
    token = service_token(*ALL_SCOPES)
    assert error_code(await wallet_app.gql(TRANSFER, token, input=move)) is None

    def forget_owners(session: Session) -> None:  # the record as an older wallet version wrote it
        row = session.execute(
            select(operations_t.c.result).where(operations_t.c.transaction_id == move["transactionId"])
        ).one()
        items = [{k: v for k, v in item.items() if k != "owner_id"} for item in json.loads(row.result)]
        session.execute(
            update(operations_t)
            .where(operations_t.c.transaction_id == move["transactionId"])
            .values(result=json.dumps(items))
        )

    await wallet_app.service.db.write(forget_owners)
    replay = (await wallet_app.gql(TRANSFER, token, input=move))["data"]["transferWallet"]

    assert replay["replayed"] is True
    assert (replay["debit"]["ownerId"], replay["credit"]["ownerId"]) == (alice, bob)


async def test_ledger_result_owner_id_is_a_non_null_id_in_the_sdl(wallet_app: InProcessWallet) -> None:
    sdl = (await wallet_app.gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    block = sdl[sdl.index("type LedgerResult") :]
    block = block[: block.index("}")]
    assert LEDGER_RESULT_SDL_FIELD in block


# ---- walletOwner / defaultWalletOf ---------------------------------------------------------------


async def test_wallet_owner_reports_frozen_and_closed_wallets_with_their_status(
    wallet_app: InProcessWallet,
) -> None:
    owner = new_id()
    frozen = await make_wallet(wallet_app, owner, "beku")
    closed = await make_wallet(wallet_app, owner, "tutup")
    assert error_code(await wallet_app.gql(FREEZE, user_token(new_id(), role="ADMIN"), w=frozen)) is None
    delete = "mutation($w: ID!) { deleteWallet(walletId: $w) { status } }"
    assert error_code(await wallet_app.gql(delete, user_token(owner), w=closed)) is None
    service = service_token("wallet:read")

    statuses = [
        (await wallet_app.gql(OWNER, service, w=wallet_id))["data"]["walletOwner"]
        for wallet_id in (frozen, closed)
    ]

    assert statuses == [
        {"walletId": frozen, "ownerId": owner, "status": "FROZEN"},
        {"walletId": closed, "ownerId": owner, "status": "CLOSED"},
    ]


@pytest.mark.parametrize("wallet_id", ["\x00", "x" * 37, "x" * 10_000, ""])
async def test_wallet_owner_of_an_id_no_wallet_can_have_is_null_not_an_error(
    wallet_app: InProcessWallet, wallet_id: str
) -> None:
    body = await wallet_app.gql(OWNER, service_token("wallet:read"), w=wallet_id)
    assert body == {"data": {"walletOwner": None}}


@pytest.mark.parametrize("user_id", ["\x00", "u\x00", "x" * 65, "x" * 10_000, ""])
async def test_default_wallet_of_an_impossible_user_id_is_null_not_an_error(
    wallet_app: InProcessWallet, user_id: str
) -> None:
    body = await wallet_app.gql(DEFAULT, service_token("wallet:read"), u=user_id)
    assert body == {"data": {"defaultWalletOf": None}}


async def test_a_user_whose_wallets_are_all_frozen_or_closed_has_no_default_wallet(
    wallet_app: InProcessWallet,
) -> None:
    user = new_id()
    closed = await make_wallet(wallet_app, user, "tutup")
    frozen = await make_wallet(wallet_app, user, "beku")
    delete = "mutation($w: ID!) { deleteWallet(walletId: $w) { status } }"
    assert error_code(await wallet_app.gql(delete, user_token(user), w=closed)) is None
    assert error_code(await wallet_app.gql(FREEZE, user_token(new_id(), role="ADMIN"), w=frozen)) is None

    body = await wallet_app.gql(DEFAULT, service_token("wallet:read"), u=user)

    assert body == {"data": {"defaultWalletOf": None}}


async def test_the_default_wallet_is_the_oldest_active_by_created_at_then_wallet_id(
    service: WalletService,
) -> None:
    user = new_id()
    wallets = [(await service.create_wallet(user, f"w{i}")).wallet_id for i in range(3)]
    newest_id_first = sorted(wallets, reverse=True)
    base = utcnow() - timedelta(days=1)
    created = {  # the largest id is the oldest; the other two share a timestamp
        newest_id_first[0]: base,
        newest_id_first[1]: base + timedelta(seconds=1),
        newest_id_first[2]: base + timedelta(seconds=1),
    }

    def backdate(session: Session) -> None:
        for wallet_id, moment in created.items():
            session.execute(
                update(wallets_t).where(wallets_t.c.wallet_id == wallet_id).values(created_at=moment)
            )

    await service.db.write(backdate)
    assert await service.default_wallet_of(user) == newest_id_first[0]
    await service.set_frozen(newest_id_first[0], True)
    assert await service.default_wallet_of(user) == newest_id_first[2]  # same time: smaller id first
    assert await service.default_wallet_of(new_id()) is None


@pytest.mark.parametrize("query", [OWNER, DEFAULT])
async def test_a_service_token_without_wallet_read_cannot_look_wallets_up(
    wallet_app: InProcessWallet, query: str
) -> None:
    variables = {"w": "w"} if "walletId" in query else {"u": "u"}
    token = service_token("wallet:credit", "wallet:debit", "wallet:transfer", "wallet:reverse")
    assert error_code(await wallet_app.gql(query, token, **variables)) == "FORBIDDEN"
    admin = user_token(new_id(), role="ADMIN")
    assert error_code(await wallet_app.gql(query, admin, **variables)) == "FORBIDDEN"


async def test_the_lookups_and_their_type_are_inaccessible_in_the_published_sdl(
    wallet_app: InProcessWallet,
) -> None:
    sdl = (await wallet_app.gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    for field in ("walletOwner", "defaultWalletOf"):
        line = next(line for line in sdl.splitlines() if line.strip().startswith(field + "("))
        assert line.rstrip().endswith("@inaccessible"), line
    assert "defaultWalletOf(userId: ID!): ID @inaccessible" in sdl
    assert "walletOwner(walletId: ID!): WalletOwner @inaccessible" in sdl
    assert "type WalletOwner @inaccessible" in sdl


# ---- Wallet.entries(direction) -------------------------------------------------------------------

PAGED = """query($w: ID!, $d: String, $after: String) { wallet(walletId: $w) {
  entries(first: 2, after: $after, direction: $d) { entryId direction transactionId } } }"""


async def funded_with_history(app: InProcessWallet, owner: str) -> tuple[str, list[str], list[str]]:
    """A wallet with credits c0..c2 and debits d0..d2 interleaved (c0 d0 c1 d1 c2 d2, oldest first)."""
    wallet_id = await make_wallet(app, owner)
    token = service_token(*ALL_SCOPES)
    credits, debits = [], []
    for index in range(3):
        credit = {"transactionId": f"c{index}-{new_id()}", "userId": owner, "walletId": wallet_id}
        debit = {"transactionId": f"d{index}-{new_id()}", "userId": owner, "walletId": wallet_id}
        assert error_code(await app.gql(TOPUP, token, input={**credit, "amount": 10})) is None
        assert error_code(await app.gql(DEDUCT, token, input={**debit, "amount": 1})) is None
        credits.append(credit["transactionId"])
        debits.append(debit["transactionId"])
    return wallet_id, credits, debits


async def test_a_direction_filtered_statement_pages_newest_first_by_entry_id(
    wallet_app: InProcessWallet,
) -> None:
    owner = new_id()
    wallet_id, credits, debits = await funded_with_history(wallet_app, owner)
    token = user_token(owner)

    for direction, expected in (("CREDIT", credits), ("DEBIT", debits)):
        first = (await wallet_app.gql(PAGED, token, w=wallet_id, d=direction))["data"]["wallet"]["entries"]
        after = first[-1]["entryId"]
        rest = (await wallet_app.gql(PAGED, token, w=wallet_id, d=direction, after=after))["data"]
        pages = first + rest["wallet"]["entries"]
        assert [e["transactionId"] for e in pages] == expected[::-1]
        assert {e["direction"] for e in pages} == {direction}


async def test_a_filtered_statements_cursor_may_be_any_entry_of_the_wallet_but_no_other(
    wallet_app: InProcessWallet,
) -> None:
    owner = new_id()
    wallet_id, credits, debits = await funded_with_history(wallet_app, owner)
    other_wallet, _, _ = await funded_with_history(wallet_app, owner)
    token = user_token(owner)
    entry_of = {e.transaction_id: e.entry_id for e in await wallet_app.service.entries_of(wallet_id)}
    other_entry = (await wallet_app.service.entries_of(other_wallet, first=1))[0].entry_id

    # c0 d0 c1 d1 c2 d2: after the debit d1 come c1 and c0 among the credits
    after_a_debit = await wallet_app.gql(PAGED, token, w=wallet_id, d="CREDIT", after=entry_of[debits[1]])
    foreign = await wallet_app.gql(PAGED, token, w=wallet_id, d="CREDIT", after=other_entry)

    assert [e["transactionId"] for e in after_a_debit["data"]["wallet"]["entries"]] == [
        credits[1],
        credits[0],
    ]
    assert error_code(foreign) == "BAD_USER_INPUT"
    assert foreign["errors"][0]["message"] == "Unknown cursor 'after'"


@pytest.mark.parametrize("direction", ["SIDEWAYS", "credit", " DEBIT", "", "CREDIT\x00"])
async def test_a_direction_other_than_credit_or_debit_is_bad_user_input_on_the_direction_field(
    wallet_app: InProcessWallet, direction: str
) -> None:
    owner = new_id()
    wallet_id = await make_wallet(wallet_app, owner, amount=5)

    body = await wallet_app.gql(STATEMENT, user_token(owner), w=wallet_id, d=direction)

    assert error_code(body) == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "direction"


async def test_the_service_statement_keeps_only_the_asked_direction(service: WalletService) -> None:
    owner = new_id()
    wallet_id = (await service.create_wallet(owner, "Dompet")).wallet_id
    await service.topup(transaction_id="in-1", user_id=owner, wallet_id=wallet_id, amount_minor=50)
    await service.deduct(transaction_id="out-1", user_id=owner, wallet_id=wallet_id, amount_minor=20)
    await service.topup(transaction_id="in-2", user_id=owner, wallet_id=wallet_id, amount_minor=5)

    credits = await service.entries_of(wallet_id, direction=Direction.CREDIT)
    debits = await service.entries_of(wallet_id, direction="DEBIT")
    second_credit = await service.entries_of(
        wallet_id, first=1, after=credits[0].entry_id, direction="CREDIT"
    )

    assert [e.transaction_id for e in credits] == ["in-2", "in-1"]
    assert [e.transaction_id for e in debits] == ["out-1"]
    assert [e.transaction_id for e in second_credit] == ["in-1"]
    with pytest.raises(AppError) as caught:
        await service.entries_of(wallet_id, direction="BOTH")
    assert (caught.value.code, caught.value.details) == (ErrorCode.BAD_USER_INPUT, {"field": "direction"})


async def test_the_service_wallet_owner_is_a_plain_record_or_none(service: WalletService) -> None:
    owner = new_id()
    wallet_id = (await service.create_wallet(owner, "Dompet")).wallet_id

    assert await service.wallet_owner(wallet_id) == WalletOwnerRecord(wallet_id, owner, WalletStatus.ACTIVE)
    assert await service.wallet_owner(new_id()) is None
    assert await service.wallet_owner(wallet_id + "x") is None
