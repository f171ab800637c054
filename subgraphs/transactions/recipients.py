"""Who receives a transfer: a person found by username, or the owner of a wallet id.

A sender pays a person, not a UUID (as GoPay or DANA users do): `recipient(username)` answers a
masked display name and the wallet that receives money sent to that user by name (their oldest
ACTIVE wallet), so the sender can confirm before sending, and `createTransaction(toUsername)` pays
that wallet. Looking people up must not let anyone list who has an account: an unknown username and
a user without a wallet that can receive get the same NOT_FOUND answer, and lookups are throttled
per user and per client (`RECIPIENT_LOOKUP_LIMIT` per `RECIPIENT_LOOKUP_WINDOW_S`).

Usernames come from auth (`lookupUser`, scope auth:lookup), wallets from wallet (`walletOwner`,
`defaultWalletOf`, scope wallet:read). The receiver's username is what both sides see of each other;
never a wallet id or an email of the other side.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.errors import AppError, ErrorCode, not_found
from shared.throttle import Throttle
from subgraphs.transactions.clients import Clients

USERNAME_MAX = 64
NOT_FOUND_MESSAGE = "No one with this username can receive money"


@dataclass(frozen=True)
class Recipient:
    """Who gets the money: their user id, username, masked name and receiving wallet."""

    user_id: str
    username: str
    display_name: str
    wallet_id: str


def mask_name(fullname: str) -> str:
    """'Naruto Uzumaki' -> 'Na**** Uz*****': enough to recognise a contact, not to read a name."""
    words = []
    for word in fullname.split():
        shown = 1 if len(word) <= 3 else 2
        words.append(word[:shown] + "*" * (len(word) - shown))
    return " ".join(words) or "*"


class Recipients:
    """Finds receivers for the saga and for `recipient(username)`."""

    def __init__(self, clients: Clients, limiter: Throttle) -> None:
        self.clients = clients
        self.limiter = limiter

    async def _throttle(self, *keys: str) -> None:
        """Every lookup counts against each key (the user and the client address); a refused one
        counts against none."""
        taken: list[tuple[str, str]] = []
        for key in keys:
            ticket = await self.limiter.acquire(key)
            if ticket is None:
                for held_key, held in taken:
                    await self.limiter.release(held_key, held)
                raise AppError(ErrorCode.RATE_LIMITED, "Too many recipient lookups; try again later")
            taken.append((key, ticket))

    async def by_username(self, username: str, *, throttle_keys: tuple[str, ...]) -> Recipient:
        """The person to pay; NOT_FOUND alike for an unknown name and a user who cannot receive."""
        await self._throttle(*throttle_keys)
        name = username.strip()
        if not name or len(name) > USERNAME_MAX or "\x00" in name or self.clients.auth is None:
            raise not_found(NOT_FOUND_MESSAGE)
        user = await self.clients.auth.lookup(username=name)
        if user is None:
            raise not_found(NOT_FOUND_MESSAGE)
        wallet_id = await self.clients.wallet.default_wallet_of(user.user_id)
        if wallet_id is None:
            raise not_found(NOT_FOUND_MESSAGE)
        return Recipient(user.user_id, user.username, mask_name(user.fullname), wallet_id)

    async def owner_of_wallet(self, wallet_id: str) -> tuple[str, str | None] | None:
        """(receiver's user id, their username) of a wallet id; None when there is no such wallet
        (the saga then fails as the wallet says) or it cannot be asked now. Best effort: the transfer
        itself must not depend on these lookups (the wallet reports the receiver again when it moves
        the money), only what the sender sees of the receiver's name does."""
        try:
            owner = await self.clients.wallet.owner_of(wallet_id)
        except AppError:
            return None
        if owner is None:
            return None
        try:
            user = await self.clients.auth.lookup(user_id=owner.owner_id) if self.clients.auth else None
        except AppError:
            user = None
        return owner.owner_id, (user.username if user else None)
