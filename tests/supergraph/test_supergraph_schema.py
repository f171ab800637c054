"""Loading supergraphs composed elsewhere (Apollo format) and planning from the SDL alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse, print_schema

from supergraph.planner import build_plan
from supergraph.supergraph_schema import Supergraph, SupergraphError

FIXTURE = Path(__file__).parent / "fixtures" / "apollo_supergraph.graphql"


def plan_of(supergraph: Supergraph, query: str) -> list[list[dict[str, object]]]:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return build_plan(supergraph, operation, {}, {}).describe()


def test_an_apollo_composed_supergraph_loads_with_its_graphs() -> None:
    supergraph = Supergraph(FIXTURE.read_text())
    assert {g.name: g.url for g in supergraph.graphs.values()} == {
        "inventory": "http://inventory.test/graphql",
        "orders": "http://orders.test/graphql",
        "people": "http://people.test/graphql",
    }


def test_the_api_schema_has_no_join_machinery_and_no_inaccessible_elements() -> None:
    api = print_schema(Supergraph(FIXTURE.read_text()).api_schema)
    for hidden in ("join__", "link__", "@inaccessible", "costMinor", "purge", "audit", "LOST"):
        assert hidden not in api
    assert "placeOrder(sku: ID!): Order!" in api


def test_a_supergraph_with_an_unsupported_execution_feature_is_refused() -> None:
    sdl = FIXTURE.read_text().replace(
        '@link(url: "https://specs.apollo.dev/link/v1.0")',
        '@link(url: "https://specs.apollo.dev/link/v1.0")\n'
        '  @link(url: "https://specs.apollo.dev/context/v0.1", for: EXECUTION)',
    )
    with pytest.raises(SupergraphError, match="unsupported feature"):
        Supergraph(sdl)


def test_a_supergraph_with_an_unknown_security_feature_is_refused() -> None:
    sdl = FIXTURE.read_text().replace(
        '@link(url: "https://specs.apollo.dev/link/v1.0")',
        '@link(url: "https://specs.apollo.dev/link/v1.0")\n'
        '  @link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)',
    )
    with pytest.raises(SupergraphError, match="authenticated"):
        Supergraph(sdl)


def test_newer_join_versions_up_to_v05_are_accepted() -> None:
    sdl = FIXTURE.read_text().replace("join/v0.3", "join/v0.5")
    assert Supergraph(sdl).graphs


def test_an_sdl_without_join_is_not_a_supergraph() -> None:
    with pytest.raises(SupergraphError, match="not a supergraph"):
        Supergraph("type Query { a: Int }")


def test_the_plan_jumps_by_key_and_skips_a_non_resolvable_key() -> None:
    supergraph = Supergraph(FIXTURE.read_text())
    plan = plan_of(supergraph, '{ order(id: "1") { status item { title } buyer { name } } }')
    (phase,) = plan
    assert [(f["subgraph"], f["path"], f["entityType"]) for f in phase] == [
        ("ORDERS", [], None),
        ("INVENTORY", ["order", "item"], "Item"),
        ("PEOPLE", ["order", "buyer"], "Person"),
    ]
    assert phase[1]["dependsOn"] == [0] and phase[2]["dependsOn"] == [0]
    assert "_entities(representations: $representations)" in str(phase[1]["operation"])


def test_lists_are_flattened_in_entity_paths() -> None:
    supergraph = Supergraph(FIXTURE.read_text())
    (phase,) = plan_of(supergraph, "{ items { sku orders { id buyer { name } } } }")
    assert [f["path"] for f in phase] == [[], ["items", "@"], ["items", "@", "orders", "@", "buyer"]]


def test_consecutive_mutation_fields_of_one_subgraph_share_one_ordered_fetch() -> None:
    supergraph = Supergraph(FIXTURE.read_text())
    plan = plan_of(
        supergraph, 'mutation { a: placeOrder(sku: "1") { id } b: placeOrder(sku: "2") { item { title } } }'
    )
    assert len(plan) == 1
    assert [f["subgraph"] for f in plan[0]] == ["ORDERS", "INVENTORY"]
