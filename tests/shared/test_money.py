"""The Money scalar through a real (tiny) subgraph schema: exact round trips and every rejection."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import strawberry
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.money import Money, MoneyError, format_minor, json_number_to_minor, parse_amount
from shared.schema import build_schema
from shared.settings import get_settings

MAX_MINOR = get_settings().money_max_minor


@strawberry.type
class Query:
    @strawberry.field
    def echo(self, amount: Money) -> Money:  # type: ignore[valid-type]
        assert isinstance(amount, int) and not isinstance(amount, bool)
        return amount

    @strawberry.field
    def minor(self, amount: Money) -> str:  # type: ignore[valid-type]
        """The parsed minor units, as text (GraphQL Int is only 32 bits)."""
        return str(amount)


schema = build_schema(Query)

VAR_QUERY = "query Q($a: Money!) { echo(amount: $a) minor(amount: $a) }"


def run_literal(literal: str) -> Any:
    return schema.execute_sync(f"{{ echo(amount: {literal}) minor(amount: {literal}) }}")


def run_variable(value: Any) -> Any:
    return schema.execute_sync(VAR_QUERY, variable_values={"a": value})


def assert_bad_user_input(result: Any) -> None:
    assert result.data is None
    assert result.errors, "expected an error"
    codes = {error.extensions.get("code") for error in result.errors}
    assert codes == {"BAD_USER_INPUT"}, [error.formatted for error in result.errors]


valid_minor = st.integers(min_value=1, max_value=MAX_MINOR)


TestOfMinor = Callable[[int], None]


def valid_amounts(test: TestOfMinor) -> TestOfMinor:
    """30 drawn valid amounts (minor units), always with the edges 1, 99, 100, the maximum and one less."""
    for edge in (MAX_MINOR, MAX_MINOR - 1, 100, 99, 1):
        test = example(edge)(test)
    return settings(max_examples=30, deadline=None)(given(valid_minor)(test))


def assert_round_trips(minor: int, literal: str, variable: object) -> None:
    """The amount given as that literal and as that variable echoes as its exact string."""
    text = format_minor(minor)
    for result in (run_literal(literal), run_variable(variable)):
        assert result.errors is None, result.errors
        assert result.data == {"echo": text, "minor": str(minor)}


@valid_amounts
def test_every_valid_amount_round_trips_exactly_as_a_string_literal_and_variable(minor: int) -> None:
    assert_round_trips(minor, f'"{format_minor(minor)}"', format_minor(minor))


@valid_amounts
def test_every_valid_amount_round_trips_as_a_float_literal_and_variable(minor: int) -> None:
    assert_round_trips(minor, format_minor(minor), float(format_minor(minor)))


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=MAX_MINOR // 100))
def test_every_whole_amount_round_trips_as_an_int_literal_and_variable(units: int) -> None:
    for result in (run_literal(str(units)), run_variable(units)):
        assert result.errors is None, result.errors
        assert result.data == {"echo": f"{units}.00", "minor": str(units * 100)}


@settings(max_examples=300, deadline=None)
@given(valid_minor)
def test_parse_and_format_are_inverse(minor: int) -> None:
    assert parse_amount(format_minor(minor)) == minor
    assert Decimal(format_minor(minor)) * 100 == minor


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=-MAX_MINOR, max_value=0))
def test_zero_and_negative_amounts_are_rejected(minor: int) -> None:
    text = format_minor(minor)
    for result in (
        run_literal(f'"{text}"'),
        run_literal(text),
        run_variable(text),
        run_variable(float(text)),
    ):
        assert_bad_user_input(result)
    units = minor // 100
    assert_bad_user_input(run_literal(str(units)))
    assert_bad_user_input(run_variable(units))


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=MAX_MINOR + 1, max_value=MAX_MINOR * 1000))
def test_amounts_above_the_maximum_are_rejected(minor: int) -> None:
    text = format_minor(minor)
    for result in (run_literal(f'"{text}"'), run_literal(text), run_variable(text)):
        assert_bad_user_input(result)


@settings(max_examples=20, deadline=None)
@given(
    st.integers(min_value=0, max_value=MAX_MINOR // 100),
    st.integers(min_value=3, max_value=8),
    st.integers(min_value=1, max_value=9),
)
def test_amounts_with_more_than_two_decimals_are_rejected(units: int, places: int, last_digit: int) -> None:
    text = f"{units}.{'0' * (places - 1)}{last_digit}"
    for result in (run_literal(f'"{text}"'), run_variable(text)):
        assert_bad_user_input(result)
    if places <= 5:  # a float's third decimal (at least 0.001 sen off whole sen) is a real decimal
        assert_bad_user_input(run_literal(text))


@pytest.mark.parametrize(
    ("value", "minor"),
    [
        (34999.990000000005, 3_499_999),  # 19999.99 + 15000 in JavaScript
        (0.1 + 0.2, 30),
        (39999.990000000005, 3_999_999),
        (999_999_999.99 + 0.01, 100_000_000_000),
    ],
)
def test_a_float_within_floating_point_error_of_whole_sen_means_those_sen(value: float, minor: int) -> None:
    assert parse_amount(value, max_minor=10**13) == minor
    for result in (run_literal(repr(value)), run_variable(value)):
        if minor <= MAX_MINOR:
            assert result.errors is None, result.errors
            assert result.data["minor"] == str(minor)


@pytest.mark.parametrize("value", [0.005, 20000.555, 1.0049])
def test_a_float_that_really_has_a_third_decimal_is_rejected(value: float) -> None:
    assert_bad_user_input(run_literal(repr(value)))
    assert_bad_user_input(run_variable(value))


def test_a_string_gets_no_float_tolerance() -> None:
    assert_bad_user_input(run_literal('"34999.990000000005"'))
    assert_bad_user_input(run_variable("34999.990000000005"))


def test_an_exponent_float_literal_is_a_float_and_an_exponent_string_is_refused() -> None:
    assert run_literal("1e3").data == {"echo": "1000.00", "minor": "100000"}
    assert run_literal("1.5E2").data == {"echo": "150.00", "minor": "15000"}
    assert_bad_user_input(run_literal('"1e3"'))


def test_a_foreign_json_number_is_exact_when_whole_and_under_the_float_rule_otherwise() -> None:
    assert json_number_to_minor(30000) == 3_000_000
    assert json_number_to_minor(Decimal("30000.0")) == 3_000_000
    assert json_number_to_minor(Decimal("34999.990000000005")) == 3_499_999
    with pytest.raises(MoneyError):
        json_number_to_minor(Decimal("150000.005"))


def test_exactly_the_maximum_is_accepted_and_one_sen_more_is_not() -> None:
    assert run_variable(format_minor(MAX_MINOR)).data == {
        "echo": format_minor(MAX_MINOR),
        "minor": str(MAX_MINOR),
    }
    assert_bad_user_input(run_variable(format_minor(MAX_MINOR + 1)))


def test_trailing_zero_decimals_are_not_extra_decimals() -> None:
    assert run_variable("10.500").data == {"echo": "10.50", "minor": str(1050)}
    assert run_literal("10.500").data == {"echo": "10.50", "minor": str(1050)}


@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-Infinity", "inf", "sNaN", "1e999999999999"])
def test_nan_and_infinity_strings_are_rejected(value: str) -> None:
    assert_bad_user_input(run_variable(value))
    assert_bad_user_input(run_literal(f'"{value}"'))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_floats_are_rejected_as_variables(value: float) -> None:
    assert_bad_user_input(run_variable(value))


@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_rejected(value: bool) -> None:
    assert_bad_user_input(run_variable(value))
    assert_bad_user_input(run_literal("true" if value else "false"))


@pytest.mark.parametrize(
    "value", ["", " ", "abc", "12abc", "1,000.00", "Rp 100", "0x10", "--5", "10..5", "5 5"]
)
def test_junk_strings_are_rejected(value: str) -> None:
    assert_bad_user_input(run_variable(value))
    assert_bad_user_input(run_literal(f'"{value}"'))


@pytest.mark.parametrize("value", ["1_000", "\u0661\u0660\u0660", "\uff15", "1e3", "5\n"])
def test_strings_with_underscores_or_non_ascii_digits_are_rejected(value: str) -> None:
    assert_bad_user_input(run_variable(value))


@pytest.mark.parametrize("literal", ["null", "[1]", "{a: 1}", "ENUM_VALUE"])
def test_non_numeric_literals_are_rejected(literal: str) -> None:
    result = run_literal(literal)
    assert result.data is None
    assert result.errors
    codes = {error.extensions.get("code") for error in result.errors}
    assert codes <= {"BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"}


@pytest.mark.parametrize("value", [[1], {"a": 1}])
def test_lists_and_objects_are_rejected_as_variables(value: Any) -> None:
    assert_bad_user_input(run_variable(value))


def test_zero_is_rejected_in_every_spelling() -> None:
    for literal in ("0", "0.0", '"0"', '"0.00"', '"-0"', "-0.00"):
        assert_bad_user_input(run_literal(literal))
    for value in (0, 0.0, -0.0, "0", "0.00"):
        assert_bad_user_input(run_variable(value))


def test_the_rejection_message_is_plain_and_mentions_the_rule() -> None:
    result = run_variable("1.234")
    assert "2 decimals" in result.errors[0].message
    result = run_literal('"-5"')
    assert "greater than zero" in result.errors[0].message
