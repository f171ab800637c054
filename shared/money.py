"""Exact money: integer minor units (sen) inside, a 2-decimal string outside, never a float.

The `Money` GraphQL scalar accepts an Int, a Float or a decimal String and rejects zero, negatives,
NaN/Infinity, booleans and amounts above the configured maximum. Balances are serialised with the
same scalar (zero is a valid balance; only inputs must be > 0).

How many decimals, by kind of input:
- a String (and an Int) is exact: at most 2 decimals, digits and one point only (no exponent);
- a Float (a JSON number with a fraction or exponent, a GraphQL Float literal such as `1e3`, the
  marketplace's `totalHarga`) is a binary float, which JavaScript sums put slightly off: 19999.99 +
  15000 is 34999.990000000005. A float within floating-point error of a whole number of sen means
  that number of sen (`float_to_minor`: |100x - round(100x)| below 1e-6 sen, or 64 ulps of x when
  x is large); a float that really has a third decimal (0.005) is refused like a string would be.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any, NewType

import strawberry
from graphql import FloatValueNode, IntValueNode, StringValueNode, ValueNode

from shared.errors import AppError, ErrorCode
from shared.settings import get_settings

MINOR_PER_UNIT = 100
_TWO_PLACES = Decimal("0.01")

MinorUnits = NewType("MinorUnits", int)
# A client's string: ASCII digits, one optional point; no exponent, "_" separators or other scripts.
_DECIMAL_STRING = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?", re.ASCII)


class MoneyError(AppError, ValueError):
    """An amount a client sent that is not a valid positive amount of rupiah."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.BAD_USER_INPUT, message)


FLOAT_SEN_TOLERANCE = 1e-6
FLOAT_ULPS_TOLERATED = 64


def float_to_minor(value: float | Decimal | str) -> Decimal:
    """A binary float (or a float's decimal text) as an exact number of rupiah with 2 decimals, when it
    lies within floating-point error of a whole number of sen; MoneyError when it does not."""
    try:
        exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
        as_float = float(value)
    except (InvalidOperation, ValueError, OverflowError):
        raise MoneyError(f"Amount {value!r} is not a decimal number") from None
    if not exact.is_finite() or not math.isfinite(as_float):
        raise MoneyError("Amount must be a finite number")
    scaled = exact * MINOR_PER_UNIT
    nearest = scaled.to_integral_value()
    tolerance = max(FLOAT_SEN_TOLERANCE, FLOAT_ULPS_TOLERATED * math.ulp(as_float) * MINOR_PER_UNIT)
    if abs(scaled - nearest) >= Decimal(tolerance):
        raise MoneyError("Amount may have at most 2 decimals")
    return nearest / MINOR_PER_UNIT


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise MoneyError("Amount must be a number, not a boolean")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return float_to_minor(value)
    if isinstance(value, str):
        text = value.strip(" ")
        if not _DECIMAL_STRING.fullmatch(text):
            raise MoneyError(f"Amount {value!r} is not a plain decimal number like 150000 or 150000.50")
        return Decimal(text)
    if isinstance(value, Decimal):
        return value
    raise MoneyError("Amount must be a number or a decimal string")


def _parse_decimal_text(text: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"Amount {text!r} is not a decimal number") from None
    return amount


def parse_amount(value: Any, *, max_minor: int | None = None) -> MinorUnits:
    """A client's amount as minor units; raises MoneyError (BAD_USER_INPUT) on any rule broken."""
    amount = _to_decimal(value)
    if not amount.is_finite():
        raise MoneyError("Amount must be a finite number")
    if amount <= 0:
        raise MoneyError("Amount must be greater than zero")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise MoneyError("Amount may have at most 2 decimals")
    minor = int((amount * MINOR_PER_UNIT).to_integral_exact())
    limit = get_settings().money_max_minor if max_minor is None else max_minor
    if minor > limit:
        raise MoneyError(f"Amount exceeds the maximum of {format_minor(limit)}")
    return MinorUnits(minor)


def format_minor(minor: int) -> str:
    """Minor units as the canonical decimal string, e.g. 50000000 -> "500000.00"."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"minor units must be int, got {type(minor).__name__}")
    sign = "-" if minor < 0 else ""
    units, cents = divmod(abs(minor), MINOR_PER_UNIT)
    return f"{sign}{units}.{cents:02d}"


def json_number_to_minor(value: Decimal | int) -> MinorUnits:
    """A JSON number read exactly (as Decimal) from a foreign service, e.g. the marketplace's
    `totalHarga`: an integer exactly, anything with a fraction or exponent under the float rule."""
    if isinstance(value, bool):
        raise MoneyError("Amount must be a number, not a boolean")
    if isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral_value()):
        return decimal_to_minor(Decimal(value))
    return decimal_to_minor(float_to_minor(value))


def decimal_to_minor(value: Decimal | str) -> MinorUnits:
    """An exact decimal (e.g. the marketplace's `totalHarga`) as minor units; no rounding allowed."""
    amount = value if isinstance(value, Decimal) else _parse_decimal_text(str(value))
    if not amount.is_finite():
        raise MoneyError("Amount must be a finite number")
    scaled = amount * MINOR_PER_UNIT
    if scaled != scaled.to_integral_value():
        raise MoneyError("Amount has more than 2 decimals")
    return MinorUnits(int(scaled))


def minor_to_decimal(minor: int) -> Decimal:
    return (Decimal(minor) / MINOR_PER_UNIT).quantize(_TWO_PLACES)


def _parse_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> MinorUnits:
    if isinstance(node, IntValueNode):
        return parse_amount(_parse_decimal_text(node.value))
    if isinstance(node, FloatValueNode):
        # The literal's own text (exactly as written), under the float rule: 34999.990000000005 is
        # 3499999 sen, 20000.555 is refused.
        return parse_amount(float_to_minor(node.value))
    if isinstance(node, StringValueNode):
        return parse_amount(node.value)
    raise MoneyError("Amount must be an Int, a Float or a decimal String")


Money = NewType("Money", int)
"""Annotate amounts with `Money`; `build_schema` maps it to `MONEY_SCALAR` (StrawberryConfig.scalar_map)."""

MONEY_SCALAR = strawberry.scalar(
    name="Money",
    description=(
        "An exact amount of rupiah. Input: Int, Float or decimal String, > 0, at most 2 decimals "
        "(a Float within floating-point error of whole sen counts as those sen). "
        'Output: a decimal string with 2 decimals, e.g. "500000.00".'
    ),
    serialize=format_minor,
    parse_value=parse_amount,
    parse_literal=_parse_literal,
)
