"""Query plans built from composed SDL alone (no network): which subgraph answers what, and when."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse

from supergraph.compose import SubgraphSource, compose
from supergraph.plan import PlanningError
from supergraph.planner import build_plan
from supergraph.supergraph_schema import Supergraph

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
    'import: ["@key", "@shareable", "@override", "@external", "@requires", "@provides"])\n'
)


def supergraph(**subgraphs: str) -> Supergraph:
    return Supergraph(compose([SubgraphSource(n, f"http://{n}", LINK + sdl) for n, sdl in subgraphs.items()]))


def plan(sg: Supergraph, query: str, variables: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    operation = next(d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode))
    return [g for phase in build_plan(sg, operation, {}, variables or {}).describe() for g in phase]


def test_an_overridden_field_is_fetched_from_the_overriding_subgraph() -> None:
    sg = supergraph(
        a='type Query { u: User }\ntype User @key(fields: "id") { id: ID! plan: String }',
        b='type User @key(fields: "id") { id: ID! plan: String @override(from: "a") }',
    )
    groups = plan(sg, "{ u { plan } }")
    assert [(g["subgraph"], g["entityType"]) for g in groups] == [("A", None), ("B", "User")]


def test_a_shareable_field_is_taken_from_the_subgraph_already_fetching() -> None:
    sg = supergraph(
        a="type Query { u: User }\n"
        'type User @key(fields: "id") { id: ID! name: String @shareable email: String }',
        b='type User @key(fields: "id") { id: ID! name: String @shareable }',
    )
    assert [g["subgraph"] for g in plan(sg, "{ u { name email } }")] == ["A"]


def test_a_shared_root_field_goes_to_the_subgraph_resolving_most_of_the_selection() -> None:
    sg = supergraph(
        a="type Query { u: User @shareable }\n"
        'type User @key(fields: "id") { id: ID! name: String @shareable }',
        b='type Query { u: User @shareable }\ntype User @key(fields: "id") { id: ID! name: String @shareable '
        "age: Int nick: String }",
    )
    assert [g["subgraph"] for g in plan(sg, "{ u { name age nick } }")] == ["B"]


def test_a_compound_key_sends_every_key_field_in_the_representation() -> None:
    sg = supergraph(
        a='type Query { s: Stock }\ntype Stock @key(fields: "sku region { code }") '
        "{ sku: ID! region: Region! }\ntype Region @shareable { code: String! }",
        b='type Stock @key(fields: "sku region { code }") { sku: ID! region: Region! count: Int }\n'
        "type Region @shareable { code: String! }",
    )
    root, entity = plan(sg, "{ s { count } }")
    assert "region { code }" in root["operation"] and "sku" in root["operation"]
    assert entity["subgraph"] == "B"


def test_with_several_keys_the_one_the_current_subgraph_knows_is_used() -> None:
    sg = supergraph(
        a='type Query { p: P }\ntype P @key(fields: "upc") { upc: ID! }',
        b='type P @key(fields: "id") @key(fields: "upc") { id: ID! upc: ID! price: Int }',
    )
    root, entity = plan(sg, "{ p { price } }")
    assert "upc" in root["operation"] and " id" not in root["operation"]
    assert entity["subgraph"] == "B"


def test_a_non_resolvable_key_is_never_the_target_of_a_jump() -> None:
    sg = supergraph(
        a='type Query { p: P }\ntype P @key(fields: "id") { id: ID! name: String }',
        b='type Query { q: P }\ntype P @key(fields: "id", resolvable: false) { id: ID! }',
    )
    groups = plan(sg, "{ q { name } }")
    assert [(g["subgraph"], g["entityType"]) for g in groups] == [("B", None), ("A", "P")]


def test_requires_waits_for_the_required_fields_from_another_subgraph() -> None:
    sg = supergraph(
        a='type Query { p: P }\ntype P @key(fields: "id") { id: ID! }',
        b='type P @key(fields: "id") { id: ID! weight: Int }',
        c='type P @key(fields: "id") { id: ID! weight: Int @external cost: Int @requires(fields: "weight") }',
    )
    groups = plan(sg, "{ p { cost } }")
    by_graph = {g["subgraph"]: g for g in groups}
    assert by_graph["C"]["dependsOn"] == sorted([by_graph["A"]["id"], by_graph["B"]["id"]])


def test_skip_and_include_are_decided_at_plan_time() -> None:
    sg = supergraph(
        a='type Query { p: P }\ntype P @key(fields: "id") { id: ID! }',
        b='type P @key(fields: "id") { id: ID! extra: Int }',
    )
    query = "query($x: Boolean!) { p { id extra @include(if: $x) } }"
    assert [g["subgraph"] for g in plan(sg, query, {"x": True})] == ["A", "B"]
    assert [g["subgraph"] for g in plan(sg, query, {"x": False})] == ["A"]


def test_a_union_under_a_shareable_field_asks_only_for_members_every_subgraph_knows() -> None:
    sg = supergraph(
        a='type Query { c: C }\ntype C @key(fields: "id") { id: ID! w: W @shareable }\n'
        "type W @shareable { items: [Item!]! }\nunion Item = Both | OnlyA\n"
        "type Both @shareable { x: Int }\ntype OnlyA { a: Int }",
        b='type C @key(fields: "id") { id: ID! w: W @shareable }\n'
        "type W @shareable { items: [Item!]! }\nunion Item = Both | OnlyB\n"
        "type Both @shareable { x: Int }\ntype OnlyB { b: Int }",
    )
    (root,) = plan(sg, "{ c { w { items { ... on Both { x } ... on OnlyA { a } } } } }")
    assert "... on Both" in root["operation"] and "OnlyA" not in root["operation"]


CORRUPTED_NODE_A = """type Query { node(id: ID!): Node @shareable account(id: String!): Account }
interface Node { id: ID! }
type Account implements Node @key(fields: "id") { id: ID! username: String! }
type Chat implements Node @key(fields: "id") { id: ID! @external account: Account! }"""
CORRUPTED_NODE_B = """type Query { node(id: ID!): Node @shareable chat(id: String!): Chat }
interface Node { id: ID! }
type Account implements Node @key(fields: "id") { id: ID! @external chats: [Chat!]! }
type Chat implements Node @key(fields: "id") { id: ID! text: String! }"""


def test_a_field_no_subgraph_can_start_from_ends_the_bounded_search_with_a_planning_error() -> None:
    """The audit's corrupted-supergraph-node-id: `Node.id` on Account is external in b and Chat's in
    a, so every jump leads back; the search stops at its bound instead of Python's recursion limit."""
    sg = supergraph(a=CORRUPTED_NODE_A, b=CORRUPTED_NODE_B)
    with pytest.raises(PlanningError, match="search bounds"):
        plan(sg, '{ node(id: "a1") { id } }')
    assert plan(sg, '{ account: node(id: "a1") { __typename } }')[0]["subgraph"] in ("A", "B")
