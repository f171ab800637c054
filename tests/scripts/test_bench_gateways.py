"""The gateways benchmark checks every gateway against the public benchmark's expected answer."""

from __future__ import annotations

import json

from scripts.gateways_bench import BENCH_DIR
from scripts.gateways_bench.answer import expected_answer


def test_the_expected_answer_is_the_public_benchmarks_shape_and_values() -> None:
    data = expected_answer(json.loads((BENCH_DIR / "data.json").read_text()))["data"]
    assert [u["username"] for u in data["users"]] == [
        "urigo", "dotansimha", "kamilkisiela", "ardatan", "gilgardosh", "laurin",
    ]  # fmt: skip
    first = data["users"][0]["reviews"][0]
    assert (first["id"], first["product"]["name"], first["product"]["price"]) == ("1", "Table", 899)
    # inventory resolves products from its own rows: no price or weight, so no estimate
    assert first["product"]["shippingEstimate"] is None and first["product"]["inStock"] is True
    assert [r["id"] for r in first["product"]["reviews"]] == ["1", "2", "3", "4"]
    assert {r["author"]["username"] for r in first["product"]["reviews"]} == {"urigo"}
    assert [p["upc"] for p in data["topProducts"]] == ["1", "2", "3", "4", "5"]
    assert [len(p["reviews"]) for p in data["topProducts"]] == [4, 4, 1, 2, 0]
    assert list(data["users"][0]) == ["id", "username", "name", "reviews"]  # the query's field order
