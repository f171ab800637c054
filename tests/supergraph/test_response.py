"""Response shaping: the GraphQL spec's null propagation and error paths, on merged data."""

from __future__ import annotations

from typing import Any

from graphql import FragmentDefinitionNode, OperationDefinitionNode, build_schema, parse

from supergraph.response import shape_response

SCHEMA = build_schema(
    """
    type Query { shelf: Shelf  shelves: [Shelf!]  strict: Shelf! }
    type Shelf { name: String!  books: [Book!]!  maybe: [Book] }
    type Book { title: String!  note: String }
    """
)


def shape(
    query: str, data: dict[str, Any], errors: list[dict[str, Any]] | None = None
) -> tuple[Any, list[Any]]:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    collected = list(errors or [])
    return shape_response(SCHEMA, operation, fragments, {}, data, collected), collected


def test_a_null_in_a_non_null_field_nulls_the_nearest_nullable_parent() -> None:
    data, errors = shape(
        "{ shelf { name books { title } } }", {"shelf": {"name": "A", "books": [{"title": None}]}}
    )
    assert data == {"shelf": None}
    assert errors == [
        {
            "message": "Cannot return null for non-nullable field Book.title.",
            "path": ["shelf", "books", 0, "title"],
            "extensions": {"code": "SUBGRAPH_INVALID_RESPONSE"},
        }
    ]


def test_a_null_item_in_a_nullable_list_stays_local() -> None:
    data, _ = shape("{ shelf { maybe { title } } }", {"shelf": {"maybe": [{"title": "x"}, {"title": None}]}})
    assert data == {"shelf": {"maybe": [{"title": "x"}, None]}}


def test_a_failing_item_of_a_non_null_list_nulls_the_whole_list_parent() -> None:
    data, _ = shape("{ shelves { name } }", {"shelves": [{"name": "a"}, {"name": None}]})
    assert data == {"shelves": None}


def test_a_non_null_root_field_nulls_data() -> None:
    data, _ = shape("{ strict { name } shelf { name } }", {"strict": None, "shelf": {"name": "b"}})
    assert data is None


def test_a_subgraph_error_at_the_path_is_not_duplicated() -> None:
    upstream = [{"message": "boom", "path": ["shelf", "name"], "extensions": {"code": "FORBIDDEN"}}]
    data, errors = shape("{ shelf { name } }", {"shelf": {"name": None}}, upstream)
    assert data == {"shelf": None}
    assert errors == upstream


def test_aliases_fragments_and_helper_fields_shape_exactly_the_requested_keys() -> None:
    data, _ = shape(
        "{ s: shelf { ...F n: name } } fragment F on Shelf { books { t: title } }",
        {"s": {"n": "A", "books": [{"t": "x", "__typename": "Book", "id": "1"}], "__typename": "Shelf"}},
    )
    assert data == {"s": {"books": [{"t": "x"}], "n": "A"}}
