"""The router's GraphiQL page: GraphiQL 5 from local assets (shared.graphiql, also every subgraph's)."""

from __future__ import annotations

from shared.graphiql import GRAPHIQL_HTML, GraphiQLAssets

__all__ = ["GRAPHIQL_HTML", "ROUTER_DEFAULT_QUERY", "ROUTER_NOTE", "ROUTER_TITLE", "router_page"]

ROUTER_TITLE = "Dompet Digital Sawit: router"
ROUTER_NOTE = (
    "Log in with the loginUser mutation, then paste its access_token into Token: every request then "
    "carries Authorization: Bearer <token>."
)
ROUTER_DEFAULT_QUERY = """# The supergraph: every subgraph's fields through the router, listed by the docs
# (book icon) and the explorer. After pasting a token above, try:
{ me { username } }
"""


def router_page(assets: GraphiQLAssets) -> bytes:
    """The page GET /graphql answers a browser with (built once, at start)."""
    return assets.page(title=ROUTER_TITLE, note=ROUTER_NOTE, default_query=ROUTER_DEFAULT_QUERY).encode()
