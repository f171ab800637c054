"""Account rules: registration, login (argon2id, throttling, uniform errors), admin seeding, tokens.

Nothing here knows GraphQL or HTTP; every refusal is an AppError with a code from shared.errors.
Hashing runs in a worker thread so a login never blocks the event loop, and an unknown email costs
the same argon2 verification as a wrong password, so neither the answer nor its timing tells
whether an account exists.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.clock import as_utc, utcnow  # noqa: F401 - re-exported
from shared.db import Database
from shared.errors import AppError, ErrorCode, bad_input
from shared.keys import SigningKey
from shared.settings import Settings
from shared.throttle import Throttles
from shared.tokens import issue_access_token
from subgraphs.auth.config import AuthConfig
from subgraphs.auth.models import ROLE_ADMIN, ROLE_USER, User

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"[a-zA-Z0-9_.]{3,32}")
# Pragmatic address syntax: a dot-atom-ish local part, then DNS labels with at least one dot.
EMAIL_RE = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
)
EMAIL_MAX_LEN = 254
EMAIL_LOCAL_MAX_LEN = 64
FULLNAME_MAX_LEN = 100
PASSWORD_MIN_LEN = 8
PASSWORD_MAX_LEN = 128
CLIENT_KEY_MAX_LEN = 64
TOKEN_TYPE = "Bearer"
INVALID_CREDENTIALS = "Invalid email or password"
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def validate_username(value: str) -> str:
    if not isinstance(value, str) or not USERNAME_RE.fullmatch(value):
        raise bad_input("Username must be 3-32 characters of letters, digits, '_' or '.'", field="username")
    return value


def validate_fullname(value: str) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise bad_input("Full name must not be empty", field="fullname")
    if len(name) > FULLNAME_MAX_LEN:
        raise bad_input(f"Full name must be at most {FULLNAME_MAX_LEN} characters", field="fullname")
    if _CONTROL_CHARS.search(name):
        raise bad_input("Full name must not contain control characters", field="fullname")
    return name


def normalize_email(value: str) -> str:
    """The canonical (trimmed, lowercased) address; BAD_USER_INPUT when it is not an address."""
    email = value.strip().lower() if isinstance(value, str) else ""
    local = email.partition("@")[0]
    if (
        not email
        or len(email) > EMAIL_MAX_LEN
        or len(local) > EMAIL_LOCAL_MAX_LEN
        or not EMAIL_RE.fullmatch(email)
    ):
        raise bad_input("Email address is not valid", field="email")
    return email


def validate_password(value: str) -> str:
    if not isinstance(value, str) or not PASSWORD_MIN_LEN <= len(value) <= PASSWORD_MAX_LEN:
        raise bad_input(
            f"Password must be {PASSWORD_MIN_LEN}-{PASSWORD_MAX_LEN} characters", field="password"
        )
    return value


def _login_password(value: str) -> str:
    """At login only the bounds that protect the hasher apply; a short password simply fails."""
    if not isinstance(value, str) or not value or len(value) > PASSWORD_MAX_LEN:
        raise bad_input(f"Password must be 1-{PASSWORD_MAX_LEN} characters", field="password")
    return value


def make_hasher(config: AuthConfig) -> PasswordHasher:
    """argon2id with the configured cost (OWASP minimum by default)."""
    return PasswordHasher(
        time_cost=config.argon2_time_cost,
        memory_cost=config.argon2_memory_kib,
        parallelism=config.argon2_parallelism,
    )


@dataclass(frozen=True)
class LoginResult:
    access_token: str
    token_type: str
    expires_in: int
    user: User


class _KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it (bounded memory)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


LOOKUP_MAX = 64


class AuthService:
    """Everything the auth subgraph does with accounts; one instance per process.

    `config`: auth's own knobs (config.py); `settings`: what every process shares, here the JWT
    issuer and audience the tokens are signed for."""

    def __init__(
        self,
        *,
        settings: Settings,
        config: AuthConfig,
        database: Database,
        signing_key: SigningKey,
        throttles: Throttles | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self.db = database
        self.signing_key = signing_key
        self.hasher = make_hasher(config)
        throttles = throttles or Throttles(None)
        login_window = config.login_window_s
        self.account_failures = throttles.window("login-account", config.login_max_failures, login_window)
        self.client_failures = throttles.window(
            "login-client", config.login_client_max_failures, login_window
        )
        # Every registration costs a full argon2 hash: bound them per client so they cannot be a DoS.
        self.client_registrations = throttles.window(
            "register-client", config.register_client_max, config.register_window_s
        )
        self._account_locks = _KeyedLocks()
        self._dummy_hash: str | None = None

    # -- hashing (always off the event loop) ---------------------------------------------------

    async def hash_password(self, password: str) -> str:
        return await asyncio.to_thread(self.hasher.hash, password)

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def verify_password(self, password_hash: str, password: str) -> bool:
        return await asyncio.to_thread(self._verify_sync, password_hash, password)

    async def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash_password(uuid.uuid4().hex)
        return self._dummy_hash

    # -- lookups ---------------------------------------------------------------------------------

    @staticmethod
    def _by_email(session: Session, email: str) -> User | None:
        result = session.execute(select(User).where(func.lower(User.email) == email.lower()))
        return result.scalars().first()

    @staticmethod
    def _by_username(session: Session, username: str) -> User | None:
        result = session.execute(select(User).where(func.lower(User.username) == username.lower()))
        return result.scalars().first()

    def _conflict(self, session: Session, email: str, username: str) -> AppError | None:
        if self._by_email(session, email) is not None:
            return AppError(ErrorCode.CONFLICT, "Email is already registered", field="email")
        if self._by_username(session, username) is not None:
            return AppError(ErrorCode.CONFLICT, "Username is already taken", field="username")
        return None

    async def get_user(self, user_id: str) -> User | None:
        return await self.db.read(lambda session: session.get(User, user_id))

    async def lookup(self, *, username: str | None = None, user_id: str | None = None) -> User | None:
        """One user by username (ignoring case, as registration compares them) or by id; None for
        no such user and for input no user could have (too long, a NUL character)."""
        if (username is None) == (user_id is None):
            raise bad_input("Give exactly one of username and id", field="username")
        value = (username if username is not None else user_id or "").strip()
        if not value or len(value) > LOOKUP_MAX or "\x00" in value:
            return None
        if username is not None:
            return await self.db.read(lambda session: self._by_username(session, value))
        return await self.db.read(lambda session: session.get(User, value))

    async def get_users(self, user_ids: list[str]) -> dict[str, User]:
        if not user_ids:
            return {}
        query = select(User).where(User.id.in_(set(user_ids)))

        def work(session: Session) -> dict[str, User]:
            return {user.id: user for user in session.execute(query).scalars()}

        return await self.db.read(work)

    async def count_users(self) -> int:
        query = select(func.count()).select_from(User)
        return await self.db.read(lambda session: int(session.execute(query).scalar_one()))

    # -- registration ----------------------------------------------------------------------------

    async def register(
        self,
        *,
        username: str,
        fullname: str,
        email: str,
        password: str,
        role: str = ROLE_USER,
        client: str | None = None,
    ) -> User:
        """A new account; BAD_USER_INPUT or CONFLICT (with `field`) and nothing stored otherwise."""
        if (
            client is not None
            and await self.client_registrations.acquire(client[:CLIENT_KEY_MAX_LEN]) is None
        ):
            raise AppError(
                ErrorCode.RATE_LIMITED,
                "Too many registrations from this client; try again later",
                retry_after_s=self.config.register_window_s,
            )
        username = validate_username(username)
        fullname = validate_fullname(fullname)
        email = normalize_email(email)
        password = validate_password(password)
        conflict = await self.db.read(lambda session: self._conflict(session, email, username))
        if conflict is not None:
            raise conflict
        password_hash = await self.hash_password(password)
        now = utcnow()
        user = User(
            id=str(uuid.uuid4()),
            username=username,
            fullname=fullname,
            email=email,
            password_hash=password_hash,
            role=role,
            created_at=now,
            updated_at=now,
        )

        def insert(session: Session) -> None:
            conflict = self._conflict(session, email, username)
            if conflict is not None:
                raise conflict
            session.add(user)
            session.flush()

        try:
            await self.db.write(insert)
        except IntegrityError:
            # A concurrent registration won the race between our check and the unique index.
            conflict = await self.db.read(lambda session: self._conflict(session, email, username))
            raise conflict or AppError(
                ErrorCode.CONFLICT, "Email or username is already registered", field="email"
            ) from None
        return user

    # -- login -----------------------------------------------------------------------------------

    def _rate_limited(self) -> AppError:
        return AppError(
            ErrorCode.RATE_LIMITED,
            "Too many failed login attempts; try again later",
            retry_after_s=self.config.login_window_s,
        )

    async def login(self, *, email: str, password: str, client: str | None) -> LoginResult:
        """A fresh access token; the same UNAUTHENTICATED error for unknown email and wrong password."""
        account = normalize_email(email)
        password = _login_password(password)
        client_key = (client or "unknown")[:CLIENT_KEY_MAX_LEN]
        # Every attempt takes a slot in both windows before the password is checked (atomically, in
        # Redis across replicas), so parallel guesses cannot slip past a limit; a right password
        # gives its slots back. One attempt per account at a time in this process besides.
        async with self._account_locks.hold(account):
            account_slot = await self.account_failures.acquire(account)
            if account_slot is None:
                raise self._rate_limited()
            client_slot = await self.client_failures.acquire(client_key)
            if client_slot is None:
                await self.account_failures.release(account, account_slot)
                raise self._rate_limited()
            user = await self.db.read(lambda session: self._by_email(session, account))
            if user is None:
                await self.verify_password(await self._dummy(), password)
                ok = False
            else:
                ok = await self.verify_password(user.password_hash, password)
            if not ok or user is None:
                raise AppError(ErrorCode.UNAUTHENTICATED, INVALID_CREDENTIALS)
            await self.account_failures.reset(account)
            await self.client_failures.release(client_key, client_slot)
        if self.hasher.check_needs_rehash(user.password_hash):
            user = await self._rehash(user, password)
        return LoginResult(
            access_token=self.issue_token(user),
            token_type=TOKEN_TYPE,
            expires_in=self.config.access_token_ttl_s,
            user=user,
        )

    async def _rehash(self, user: User, password: str) -> User:
        """Store the hash again with today's argon2 parameters (they were raised since)."""
        new_hash = await self.hash_password(password)

        def store(session: Session) -> User:
            current = session.get(User, user.id)
            if current is None:
                return user
            current.password_hash = new_hash
            current.updated_at = utcnow()
            session.add(current)
            return current

        return await self.db.write(store)

    def issue_token(self, user: User) -> str:
        return issue_access_token(
            self.signing_key,
            user_id=user.id,
            role=user.role,
            username=user.username,
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
            ttl_s=self.config.access_token_ttl_s,
        )

    # -- start-up --------------------------------------------------------------------------------

    async def seed_admin(self) -> User | None:
        """Create the configured admin once; an existing account with that email/username is left as is."""
        s = self.config
        email = normalize_email(s.admin_email)
        existing = await self.db.read(
            lambda session: self._by_email(session, email) or self._by_username(session, s.admin_username)
        )
        if existing is not None:
            if existing.role != ROLE_ADMIN or existing.email != email:
                log.warning("admin seed skipped: %s already belongs to another account", email)
            return None
        try:
            user = await self.register(
                username=s.admin_username,
                fullname=s.admin_fullname,
                email=email,
                password=s.admin_password,
                role=ROLE_ADMIN,
            )
        except AppError as exc:
            if exc.code == ErrorCode.CONFLICT:  # another process seeded it at the same moment
                return None
            raise ValueError(f"Invalid admin account settings: {exc.message}") from None
        log.info("seeded admin account %s", email)
        return user

    async def start(self) -> None:
        await self._dummy()
        await self.seed_admin()
