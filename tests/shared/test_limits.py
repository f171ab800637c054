"""The operation limits walk fragments once per path: a cycle nobody has validated yet still ends."""

from __future__ import annotations

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from shared.limits import LimitExceeded, Limits, check_operation


def _check(query: str, limits: Limits) -> None:
    document = parse(query)
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    check_operation(operation, fragments, limits)


def test_a_fragment_cycle_at_the_root_is_counted_once_not_recursed_into_for_ever() -> None:
    _check("query { ...F } fragment F on Query { a b ...F }", Limits(max_root_fields=2))
    with pytest.raises(LimitExceeded) as raised:
        _check("query { ...F } fragment F on Query { a b ...F }", Limits(max_root_fields=1))
    assert raised.value.code == "MAX_ROOT_FIELDS_EXCEEDED"


def test_depth_and_aliases_see_through_fragments() -> None:
    query = "query { a { ...F } } fragment F on A { x: b { c } y: d }"
    _check(query, Limits(max_depth=3, max_aliases=2))
    with pytest.raises(LimitExceeded) as raised:
        _check(query, Limits(max_depth=2))
    assert raised.value.code == "MAX_DEPTH_EXCEEDED"
    with pytest.raises(LimitExceeded) as raised:
        _check(query, Limits(max_aliases=1))
    assert raised.value.code == "MAX_ALIASES_EXCEEDED"
