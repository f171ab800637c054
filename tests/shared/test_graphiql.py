"""GraphiQL at the router's and a subgraph's GET /graphql, without a browser: the page loads only this
process's own `/graphiql/assets/...` files (with the right content types), and without a build the
basic page says why. tests/web/test_graphiql.py drives the real page in Chromium."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.graphiql import CONFIG_ID, DIST_ENV, GraphiQLAssets, fallback_page
from shared.settings import get_settings
from subgraphs.wallet.app import create_app as create_wallet_app
from supergraph.config import RouterSettings
from supergraph.server import create_app as create_router_app
from tests.support.graphiql import BUILT_INDEX, require_build

HTML = {"Accept": "text/html"}
URL = re.compile(r"""https?://[^\s"'<>)]+""")
LOCAL_REF = re.compile(r'(?:src|href)="([^"]+)"')
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".ttf": "font/ttf"}


AppFactory = Callable[[], Any]


def router_app() -> Any:
    # no lifespan in these tests: the page and the assets need no composed supergraph
    return create_router_app(RouterSettings(ROUTER_POLL_INTERVAL_S=0))


def wallet_app() -> Any:
    return create_wallet_app(get_settings())


@asynccontextmanager
async def client_of(factory: AppFactory) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=factory())
    async with httpx.AsyncClient(transport=transport, base_url="http://graphiql.test") as client:
        yield client


def foreign_urls(text: str) -> list[str]:
    return [url for url in URL.findall(text) if not url.startswith("http://graphiql.test/")]


@pytest.mark.parametrize("factory", [router_app, wallet_app], ids=["router", "subgraph"])
async def test_the_page_loads_only_local_assets(factory: AppFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    require_build()
    monkeypatch.delenv(DIST_ENV, raising=False)
    async with client_of(factory) as client:
        page = await client.get("/graphql", headers=HTML)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert f'id="{CONFIG_ID}"' in page.text
        assert foreign_urls(page.text) == []
        refs = LOCAL_REF.findall(page.text)
        assert refs and all(ref.startswith("/graphiql/assets/") for ref in refs), refs
        assert any(ref.endswith(".js") for ref in refs) and any(ref.endswith(".css") for ref in refs)
        # what the entry pulls in itself: monaco's css and codicon font, the workers
        built = sorted((BUILT_INDEX.parent / "assets").iterdir())
        wanted = {ref.rsplit("/", 1)[1] for ref in refs}
        wanted |= {p.name for p in built if p.suffix == ".ttf" or "worker" in p.name}
        for name in sorted(wanted):
            asset = await client.get(f"/graphiql/assets/{name}")
            assert asset.status_code == 200, name
            assert asset.headers["content-type"].startswith(MEDIA_TYPES[Path(name).suffix]), name
            assert "immutable" in asset.headers["cache-control"]
        assert (await client.get("/graphiql/assets/nothing-here.js")).status_code == 404


async def test_the_css_loads_fonts_and_images_only_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    require_build()
    monkeypatch.delenv(DIST_ENV, raising=False)
    for css in (BUILT_INDEX.parent / "assets").glob("*.css"):
        urls = re.findall(r"url\(([^)]*)\)", css.read_text("utf-8"))
        assert urls, css.name
        for url in urls:
            url = url.strip("\"'")
            assert url.startswith(("data:", "/graphiql/assets/", "#")), (css.name, url[:80])
        assert "@import" not in css.read_text("utf-8"), css.name


async def test_the_router_page_names_the_router_and_the_token_box(monkeypatch: pytest.MonkeyPatch) -> None:
    require_build()
    monkeypatch.delenv(DIST_ENV, raising=False)
    async with client_of(router_app) as client:
        page = (await client.get("/graphql", headers=HTML)).text
    assert "<title>Dompet Digital Sawit: router</title>" in page
    assert "access_token" in page  # the note on how to get a token for the Token box


async def test_the_subgraph_page_says_introspection_needs_the_router_credential(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_build()
    monkeypatch.delenv(DIST_ENV, raising=False)
    async with client_of(wallet_app) as client:
        page = (await client.get("/graphql", headers=HTML)).text
        refused = await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})
    assert "wallet subgraph" in page
    assert "sawit-router-token --json" in page and "SUBGRAPH_FEDERATION_AUTH=off" in page
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"  # what GraphiQL then shows


@pytest.mark.parametrize("factory", [router_app, wallet_app], ids=["router", "subgraph"])
async def test_without_a_build_the_basic_page_says_why(
    factory: AppFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DIST_ENV, str(tmp_path))  # an empty directory: no index.html
    async with client_of(factory) as client:
        page = await client.get("/graphql", headers=HTML)
        asset = await client.get("/graphiql/assets/index.js")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "GraphiQL assets are not built" in page.text
    assert "index.html missing" in page.text and "scripts/build-graphiql" in page.text
    assert 'id="query"' in page.text  # the self-contained page still runs queries
    assert foreign_urls(page.text) == [] and "/graphiql/assets/" not in page.text
    assert asset.status_code == 404


def test_a_missing_directory_and_an_incomplete_build_are_told_apart(tmp_path: Path) -> None:
    missing = GraphiQLAssets(tmp_path / "nowhere")
    assert not missing.built and "nowhere missing" in (missing.reason or "")
    (tmp_path / "index.html").write_text('<script type="module" src="/graphiql/assets/gone.js"></script>')
    partial = GraphiQLAssets(tmp_path)
    assert not partial.built and "incomplete (/graphiql/assets/gone.js missing)" in (partial.reason or "")


def test_the_page_config_cannot_break_out_of_its_script_element(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "a.js").write_text("")
    (tmp_path / "index.html").write_text(
        '<html><head><title>GraphiQL</title><script src="/graphiql/assets/a.js"></script></head></html>'
    )
    page = GraphiQLAssets(tmp_path).page(title="<b>T</b>", note="</script><script>alert(1)</script>")
    assert "<title>&lt;b&gt;T&lt;/b&gt;</title>" in page
    assert "alert(1)</script>" not in page and page.count("</script>") == 2


def test_the_fallback_escapes_its_notices() -> None:
    page = fallback_page(title="x", notices=["<img src=x>", ""])
    assert "&lt;img src=x&gt;" in page and "<img" not in page
