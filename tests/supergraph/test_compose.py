"""Composition of subgraph SDLs into a join-spec supergraph, and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from supergraph.compose import CompositionError, SubgraphSource, compose
from supergraph.compose_cli import main as compose_main
from supergraph.supergraph_schema import Supergraph
from tests.supergraph.subgraph_apps import SCHEMAS

FED2 = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])\n'
)


def strawberry_sources() -> list[SubgraphSource]:
    return [
        SubgraphSource(name, f"http://{name}.test/graphql", schema.as_str())
        for name, schema in SCHEMAS.items()
    ]


def test_strawberry_subgraphs_compose_into_a_join_v03_supergraph() -> None:
    sdl = compose(strawberry_sources())
    assert '@link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)' in sdl
    assert 'ACCOUNTS @join__graph(name: "accounts", url: "http://accounts.test/graphql")' in sdl
    assert (
        '@join__type(graph: ACCOUNTS, key: "id")' in sdl and '@join__type(graph: REVIEWS, key: "id")' in sdl
    )
    assert '@join__field(graph: SHIPPING, requires: "price weight")' in sdl
    assert '@join__field(graph: REVIEWS, provides: "name")' in sdl
    assert "@join__field(graph: SHIPPING, external: true)" in sdl
    assert '@join__unionMember(graph: MEDIA, member: "Book")' in sdl
    assert '@join__implements(graph: MEDIA, interface: "Media")' in sdl
    assert "internalReset: Boolean! @join__field(graph: ACCOUNTS) @inaccessible" in sdl
    for machinery in ("_service", "_entities", "_Any", "_Entity", "_Service", "federation__"):
        assert machinery not in sdl


def test_a_composed_supergraph_loads_and_hides_inaccessible_fields() -> None:
    supergraph = Supergraph(compose(strawberry_sources()))
    mutation = supergraph.api_schema.mutation_type
    assert mutation is not None and "internalReset" not in mutation.fields
    assert "internalReset" in supergraph.schema.mutation_type.fields  # type: ignore[union-attr]
    assert supergraph.api_schema.get_type("Money") is not None


def test_scalars_and_enums_shared_by_subgraphs_merge_with_a_join_per_graph() -> None:
    a = FED2 + "scalar Money\nenum Status { OPEN CLOSED }\ntype Query { a(s: Status): Money }"
    b = FED2 + "scalar Money\nenum Status { OPEN FROZEN }\ntype Query { b: Status }"
    sdl = compose([SubgraphSource("a", "http://a", a), SubgraphSource("b", "http://b", b)])
    assert "scalar Money\n  @join__type(graph: A)\n  @join__type(graph: B)" in sdl
    assert "OPEN @join__enumValue(graph: A) @join__enumValue(graph: B)" in sdl
    assert "FROZEN @join__enumValue(graph: B)" in sdl


def test_a_non_shareable_field_in_two_subgraphs_is_refused_naming_both() -> None:
    a = FED2 + 'type Query { u: User }\ntype User @key(fields: "id") { id: ID! name: String }'
    b = FED2 + 'type User @key(fields: "id") { id: ID! name: String }'
    with pytest.raises(CompositionError) as caught:
        compose([SubgraphSource("auth", "http://a", a), SubgraphSource("wallet", "http://b", b)])
    message = str(caught.value)
    assert '"User.name"' in message and '"auth"' in message and '"wallet"' in message


def test_shareable_fields_in_two_subgraphs_compose() -> None:
    a = FED2 + 'type Query { u: User }\ntype User @key(fields: "id") { id: ID! name: String @shareable }'
    b = FED2 + 'type User @key(fields: "id") { id: ID! name: String @shareable }'
    sdl = compose([SubgraphSource("a", "http://a", a), SubgraphSource("b", "http://b", b)])
    assert "  name: String\n" in sdl
    assert Supergraph(sdl).resolving_graphs("User", "name") == ["A", "B"]


def test_conflicting_field_types_are_refused_naming_the_field_and_subgraphs() -> None:
    a = FED2 + 'type Query { u: User }\ntype User @key(fields: "id") { id: ID! age: Int @shareable }'
    b = FED2 + 'type User @key(fields: "id") { id: ID! age: String @shareable }'
    with pytest.raises(CompositionError) as caught:
        compose([SubgraphSource("a", "http://a", a), SubgraphSource("b", "http://b", b)])
    assert 'field "User.age" has incompatible types' in str(caught.value)
    assert '"Int" in subgraph "a"' in str(caught.value)


def test_a_key_naming_an_unknown_field_is_refused() -> None:
    a = FED2 + 'type Query { u: User }\ntype User @key(fields: "uuid") { id: ID! }'
    with pytest.raises(CompositionError) as caught:
        compose([SubgraphSource("auth", "http://a", a)])
    assert 'field "User.uuid" does not exist' in str(caught.value)
    assert '"auth"' in str(caught.value)


def test_types_of_different_kinds_are_refused() -> None:
    a = FED2 + "type Query { a: Thing }\ntype Thing { id: ID }"
    b = FED2 + "type Query { b: Thing }\ninterface Thing { id: ID }"
    with pytest.raises(CompositionError, match='type "Thing" has different kinds'):
        compose([SubgraphSource("a", "http://a", a), SubgraphSource("b", "http://b", b)])


def test_the_cli_writes_the_supergraph_file(tmp_path: Path) -> None:
    for name, schema in SCHEMAS.items():
        (tmp_path / f"{name}.graphql").write_text(schema.as_str())
    config = tmp_path / "supergraph.yaml"
    config.write_text(
        "subgraphs:\n"
        + "".join(
            f"  {name}:\n    routing_url: http://{name}.test/graphql\n"
            f"    schema:\n      file: ./{name}.graphql\n"
            for name in SCHEMAS
        )
    )
    output = tmp_path / "supergraph.graphql"
    assert compose_main(["--config", str(config), "-o", str(output)]) == 0
    assert "join__Graph" in output.read_text()


def test_the_cli_exits_non_zero_with_the_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.graphql").write_text(
        FED2 + 'type Query { u: User }\ntype User @key(fields: "nope") { id: ID! }'
    )
    config = tmp_path / "supergraph.yaml"
    config.write_text("subgraphs:\n  a:\n    routing_url: http://a\n    schema:\n      file: a.graphql\n")
    assert compose_main(["--config", str(config)]) == 1
    assert 'field "User.nope" does not exist' in capsys.readouterr().err


def test_deprecations_survive_composition_into_the_api_schema() -> None:
    a = FED2 + 'type Query { old: Int @deprecated(reason: "use new") new: Int }\nenum E { A B @deprecated }'
    b = FED2 + "type Query { e: E }\nenum E { A B }"
    api = Supergraph(
        compose([SubgraphSource("a", "http://a", a), SubgraphSource("b", "http://b", b)])
    ).api_schema
    assert api.query_type.fields["old"].deprecation_reason == "use new"  # type: ignore[union-attr]
    assert api.get_type("E").values["B"].deprecation_reason == "No longer supported"  # type: ignore[union-attr]
