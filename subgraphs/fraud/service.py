"""The risk engine: validates a check, evaluates the six rules against the user's stored logs, logs it.

Rules run in a fixed order (README table) and all of them run, so `reasons` lists every rule that
fired; the verdict is the worst one. Evaluation and the insert of the log happen in ONE write
transaction, so concurrent checks of one user see each other: SQLite serialises writers (BEGIN
IMMEDIATE); on PostgreSQL the transaction first takes `pg_advisory_xact_lock(hashtext(user_id))`.
A check is idempotent by transaction id (UNIQUE constraint): a retry gets the stored verdict back.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import Database
from shared.errors import AppError, ErrorCode, bad_input
from shared.pagination import newest_first, older_than, page_size
from shared.settings import get_settings
from subgraphs.fraud.config import FraudConfig
from subgraphs.fraud.models import STATUSES, FraudLog

SAFE, SUSPICIOUS, FRAUD = STATUSES
_SEVERITY = {SAFE: 0, SUSPICIOUS: 1, FRAUD: 2}

# What each rule adds to the score and the verdict it gives, in evaluation order.
RULES: tuple[tuple[str, str, int], ...] = (
    ("AMOUNT_FRAUD", FRAUD, 90),
    ("AMOUNT_SUSPICIOUS", SUSPICIOUS, 50),
    ("VELOCITY", FRAUD, 85),
    ("DAILY_LIMIT", FRAUD, 85),
    ("NEW_ACCOUNT_LARGE", SUSPICIOUS, 35),
    ("STRUCTURING", SUSPICIOUS, 45),
)
RULE_VERDICT = {code: verdict for code, verdict, _ in RULES}
RULE_WEIGHT = {code: weight for code, _, weight in RULES}
# The score of a verdict is the sum of the fired rules' weights clamped into the verdict's band.
SCORE_BANDS = {SAFE: (0, 29), SUSPICIOUS: (30, 79), FRAUD: (80, 100)}

MAX_ID_LENGTH = 128


def utc_now() -> datetime:
    return datetime.now(UTC)


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class CheckInput:
    """A check as the caller sent it, nothing validated yet (`validate_request` makes it a CheckRequest)."""

    transaction_id: object
    user_id: object
    wallet_id: object
    amount_minor: object
    type: object
    va_number: object = None


@dataclass(frozen=True)
class CheckRequest:
    """A validated check: ids trimmed, amount in minor units, type upper-case."""

    transaction_id: str
    user_id: str
    wallet_id: str
    amount_minor: int
    type: str
    va_number: str | None = None


@dataclass(frozen=True)
class UserActivity:
    """What the stored logs say about the user before this check (the check itself not included)."""

    checks_in_velocity_window: int = 0
    first_seen: datetime | None = None
    outgoing_today_minor: int = 0
    near_threshold_in_window: int = 0


@dataclass(frozen=True)
class Verdict:
    status: str
    score: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CheckOutcome:
    log: FraudLog
    replayed: bool


def _required_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_input(f"{field} must not be empty", field=field)
    cleaned = value.strip()
    if len(cleaned) > MAX_ID_LENGTH:
        raise bad_input(f"{field} is longer than {MAX_ID_LENGTH} characters", field=field)
    return cleaned


def validate_request(config: FraudConfig, given: CheckInput) -> CheckRequest:
    """The request as the rules need it; BAD_USER_INPUT (with `field`) for anything malformed."""
    txid = _required_id(given.transaction_id, "transactionId")
    uid = _required_id(given.user_id, "userId")
    wid = _required_id(given.wallet_id, "walletId")
    amount_minor, type, va_number = given.amount_minor, given.type, given.va_number
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise bad_input("amount must be an exact amount in minor units", field="amount")
    if amount_minor <= 0:
        raise bad_input("amount must be greater than zero", field="amount")
    if amount_minor > get_settings().money_max_minor:
        raise bad_input("amount exceeds the maximum", field="amount")
    if not isinstance(type, str) or type.strip().upper() not in config.allowed_types:
        raise bad_input(
            f"type must be one of {', '.join(config.allowed_types)}",
            field="type",
            allowed=list(config.allowed_types),
        )
    va: str | None = None
    if va_number is not None:
        if not isinstance(va_number, str):
            raise bad_input("vaNumber must be a string", field="vaNumber")
        va = va_number.strip() or None
        if va is not None and len(va) > MAX_ID_LENGTH:
            raise bad_input(f"vaNumber is longer than {MAX_ID_LENGTH} characters", field="vaNumber")
    return CheckRequest(txid, uid, wid, amount_minor, type.strip().upper(), va)


def evaluate(request: CheckRequest, activity: UserActivity, config: FraudConfig, now: datetime) -> Verdict:
    """Run every enabled rule in order; the worst verdict wins (pure: no I/O)."""
    amount = request.amount_minor
    fired: list[str] = []

    def check(code: str, condition: bool) -> None:
        if config.enabled(code) and condition:
            fired.append(code)

    over_fraud = amount > config.amount_fraud_minor
    check("AMOUNT_FRAUD", over_fraud)
    check(
        "AMOUNT_SUSPICIOUS",
        amount > config.amount_suspicious_minor and not (over_fraud and config.enabled("AMOUNT_FRAUD")),
    )
    check("VELOCITY", activity.checks_in_velocity_window + 1 > config.velocity_max_checks)
    outgoing = request.type in config.outgoing_types
    check("DAILY_LIMIT", outgoing and activity.outgoing_today_minor + amount > config.daily_limit_minor)
    naive_now = _naive_utc(now)
    is_new = activity.first_seen is None or activity.first_seen > naive_now - timedelta(
        seconds=config.new_account_age_s
    )
    check("NEW_ACCOUNT_LARGE", is_new and amount > config.new_account_large_minor)
    near = config.structuring_lower_minor <= amount < config.amount_suspicious_minor
    check(
        "STRUCTURING",
        near and activity.near_threshold_in_window + 1 >= config.structuring_min_count,
    )
    return verdict_of(fired)


def verdict_of(fired: Sequence[str]) -> Verdict:
    """Worst verdict of the fired rules and its score (weights summed, clamped into the band)."""
    status = SAFE
    for code in fired:
        if _SEVERITY[RULE_VERDICT[code]] > _SEVERITY[status]:
            status = RULE_VERDICT[code]
    low, high = SCORE_BANDS[status]
    score = min(max(sum(RULE_WEIGHT[code] for code in fired), low), high)
    return Verdict(status=status, score=score, reasons=tuple(fired))


def reason_text(reasons: Iterable[str]) -> str:
    """The seed's one-line `reason`: the codes joined by "; ", or "OK" when no rule fired."""
    joined = "; ".join(reasons)
    return joined or "OK"


class FraudService:
    """Checks, lists and deletes fraud logs in the fraud subgraph's own database."""

    def __init__(self, db: Database, config: FraudConfig, clock: Callable[[], datetime] = utc_now) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    # -- checks ---------------------------------------------------------------------------------

    async def check(self, given: CheckInput) -> CheckOutcome:
        """The verdict for one transaction id, logged once however often or concurrently asked."""
        request = validate_request(self.config, given)

        def work(session: Session) -> CheckOutcome:
            if not self.db.is_sqlite:
                session.execute(
                    text("SELECT pg_advisory_xact_lock(hashtext(:user_id))"),
                    {"user_id": request.user_id},
                )
            existing = self._by_transaction(session, request.transaction_id)
            if existing is not None:
                return CheckOutcome(self._same_request(existing, request), replayed=True)
            now = self.clock()
            activity = self._activity(session, request.user_id, now)
            verdict = evaluate(request, activity, self.config, now)
            log = FraudLog(
                log_id=uuid.uuid4().hex,
                **asdict(request),  # the log's columns of the request have the request's names
                status=verdict.status,
                score=verdict.score,
                reasons=",".join(verdict.reasons),
                created_at=_naive_utc(now),
            )
            session.add(log)
            session.flush()
            return CheckOutcome(log, replayed=False)

        try:
            return await self.db.write(work)
        except IntegrityError:
            # A concurrent check of the same transaction id (another user's lock) won the insert.
            existing = await self.db.read(
                lambda session: self._by_transaction(session, request.transaction_id)
            )
            if existing is None:
                raise
            return CheckOutcome(self._same_request(existing, request), replayed=True)

    @staticmethod
    def _same_request(existing: FraudLog, request: CheckRequest) -> FraudLog:
        if (
            existing.user_id != request.user_id
            or existing.wallet_id != request.wallet_id
            or existing.amount_minor != request.amount_minor
            or existing.type != request.type
        ):
            raise AppError(
                ErrorCode.IDEMPOTENCY_KEY_REUSED,
                "This transaction id was already checked with different details",
                transactionId=request.transaction_id,
            )
        return existing

    @staticmethod
    def _by_transaction(session: Session, transaction_id: str) -> FraudLog | None:
        result = session.execute(select(FraudLog).where(FraudLog.transaction_id == transaction_id))
        return result.scalar_one_or_none()

    def _activity(self, session: Session, user_id: str, now: datetime) -> UserActivity:
        config = self.config
        naive_now = _naive_utc(now)
        velocity_start = naive_now - timedelta(seconds=config.velocity_window_s)
        day_start = naive_now.replace(hour=0, minute=0, second=0, microsecond=0)
        structuring_start = naive_now - timedelta(seconds=config.structuring_window_s)
        earliest = min(velocity_start, day_start, structuring_start)
        col = FraudLog.__table__.c  # type: ignore[attr-defined]

        first_seen = session.execute(
            select(func.min(col.created_at)).where(col.user_id == user_id)
        ).scalar_one_or_none()
        if first_seen is None:
            return UserActivity()

        def count_if(condition: object) -> object:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        outgoing_today = and_(
            col.created_at >= day_start,
            col.type.in_(config.outgoing_types),
            col.status != FRAUD,
        )
        near_threshold = and_(
            col.created_at > structuring_start,
            col.amount_minor >= config.structuring_lower_minor,
            col.amount_minor < config.amount_suspicious_minor,
        )
        row = session.execute(
            select(
                count_if(col.created_at > velocity_start),
                func.coalesce(func.sum(case((outgoing_today, col.amount_minor), else_=0)), 0),
                count_if(near_threshold),
            ).where(col.user_id == user_id, col.created_at >= earliest)
        ).one()
        return UserActivity(
            checks_in_velocity_window=int(row[0]),
            first_seen=first_seen,
            outgoing_today_minor=int(row[1]),
            near_threshold_in_window=int(row[2]),
        )

    # -- reads and admin ------------------------------------------------------------------------

    async def get(self, log_id: str) -> FraudLog | None:
        return await self.db.read(lambda session: session.get(FraudLog, log_id))

    async def by_transaction_ids(self, transaction_ids: Sequence[str]) -> dict[str, FraudLog]:
        wanted = sorted({tid for tid in transaction_ids if tid})
        if not wanted:
            return {}
        query = select(FraudLog).where(FraudLog.transaction_id.in_(wanted))  # type: ignore[attr-defined]

        def work(session: Session) -> dict[str, FraudLog]:
            return {log.transaction_id: log for log in session.execute(query).scalars()}

        return await self.db.read(work)

    async def list_logs(
        self,
        *,
        status: str | None = None,
        user_id: str | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> list[FraudLog]:
        """Newest first; `after` is the logId of the last item of the previous page."""
        first = page_size(first)
        col = FraudLog.__table__.c  # type: ignore[attr-defined]
        query = select(FraudLog)
        if status is not None:
            wanted = status.strip().upper()
            if wanted not in STATUSES:
                raise bad_input(f"status must be one of {', '.join(STATUSES)}", field="status")
            query = query.where(col.status == wanted)
        if user_id is not None:
            query = query.where(col.user_id == user_id.strip())

        def work(session: Session) -> list[FraudLog]:
            page = query
            if after:
                cursor = session.get(FraudLog, after)
                if cursor is None:
                    raise bad_input("after is not the id of a fraud log", field="after")
                page = page.where(older_than(col.created_at, col.log_id, cursor.created_at, cursor.log_id))
            page = page.order_by(*newest_first(col.created_at, col.log_id)).limit(first)
            return list(session.execute(page).scalars())

        return await self.db.read(work)

    async def delete(self, log_id: str) -> bool:
        """Remove one log; False when there was none with that id."""
        statement = delete(FraudLog).where(FraudLog.log_id == log_id)
        return await self.db.write(lambda session: bool(session.execute(statement).rowcount))
