"""What every gateway must answer to the benchmark query, and whether one did (before and after its load).

The answer is resolved straight from data.json, with no gateway involved, so a gateway that is fast
because it answers something else is caught; the comparison is of the exact JSON, key order included.
"""

from __future__ import annotations

import json
from typing import Any

import httpx


def expected_answer(data: dict[str, Any]) -> dict[str, Any]:
    """The benchmark query's answer, resolved straight from data.json (no gateway involved)."""
    users = {u["id"]: u for u in data["users"]}
    stock = {p["upc"]: p["inStock"] for p in data["inventory"]}
    products = {p["upc"]: p for p in data["products"]}
    reviews = data["reviews"]

    def product(upc: str) -> dict[str, Any]:
        row = products[upc]
        # shippingEstimate is null in the benchmark (see subgraphs.js)
        return {
            "inStock": stock[upc],
            "name": row["name"],
            "price": row["price"],
            "shippingEstimate": None,
            "upc": upc,
            "weight": row["weight"],
        }

    def review(row: dict[str, Any]) -> dict[str, Any]:
        return {"id": row["id"], "body": row["body"]}

    def author() -> dict[str, Any]:  # every review's author is user 1, with reviews 1 and 2
        return {
            "id": "1",
            "username": "urigo",
            "name": users["1"]["name"],
            "reviews": [{**review(r), "product": product(r["product"])} for r in reviews[:2]],
        }

    def product_reviews(upc: str) -> list[dict[str, Any]]:
        return [{**review(r), "author": author()} for r in reviews if r["product"] == upc]

    return {
        "data": {
            "users": [
                {
                    "id": u["id"],
                    "username": u["username"],
                    "name": u["name"],
                    "reviews": [
                        {
                            **review(r),
                            "product": {**product(r["product"]), "reviews": product_reviews(r["product"])},
                        }
                        for r in reviews[:2]
                    ],
                }
                for u in data["users"]
            ],
            "topProducts": [
                {**product(p["upc"]), "reviews": product_reviews(p["upc"])} for p in data["products"][:5]
            ],
        }
    }


def check_answer(url: str, body: bytes, expected: dict[str, Any]) -> str | None:
    """None when the gateway answers exactly the expected JSON (values and key order), else why not."""
    try:
        response = httpx.post(url, content=body, headers={"content-type": "application/json"}, timeout=30)
        got = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"no JSON answer: {exc}"
    if json.dumps(got) == json.dumps(expected):
        return None
    if got == expected:
        return "same values, but keys in another order"
    return f"HTTP {response.status_code}, answer differs: {json.dumps(got)[:300]}"
