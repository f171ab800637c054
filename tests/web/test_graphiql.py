"""GraphiQL 5 in a real browser against the real system: the router's page (docs, explorer,
autocompletion, a pasted token, a query run) and a subgraph's (introspection needs the router's
credential), every request to the serving process itself, at 1280 px and 375 px."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.flows import register_and_login
from tests.support.graphiql import require_build
from tests.support.procs import REPO_ROOT
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
# The first load compiles monaco and its workers; a busy 2-core machine needs more than 5 s.
SLOW = 30_000
# Requests that never leave the browser (inlined fonts and images, worker blobs).
LOCAL_SCHEMES = ("data:", "blob:")


class Recorded:
    """A browser context that records the URL of every request it (and its workers) makes."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.urls: list[str] = []
        context.on("request", lambda request: self.urls.append(request.url))

    def foreign(self, origin: str) -> list[str]:
        return [u for u in self.urls if not u.startswith((origin + "/", *LOCAL_SCHEMES))]


@pytest.fixture
def recorded(browser: Any) -> Iterator[Recorded]:
    require_build()
    context = browser.new_context(viewport=LAPTOP)
    try:
        yield Recorded(context)
    finally:
        context.close()


def origin_of(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def open_graphiql(recorded: Recorded, url: str) -> Page:
    page = recorded.context.new_page()
    page.goto(url)
    expect(page.locator(".graphiql-container")).to_be_visible(timeout=SLOW)
    expect(page.locator(".graphiql-query-editor .monaco-editor").first).to_be_visible(timeout=SLOW)
    return page


def open_docs(page: Page) -> Any:
    page.get_by_role("button", name="Show Documentation Explorer").click()
    docs = page.locator(".graphiql-doc-explorer")
    expect(docs).to_be_visible()
    return docs


def replace_query(page: Page, text: str) -> None:
    """Select everything in the query editor and put `text` in, as a paste would (typing braces
    one by one would meet monaco's auto-closing)."""
    editor = page.locator(".graphiql-query-editor .monaco-editor").first
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def router_credential_json() -> str:
    """What `sawit-router-token --json` prints, from the real command (the test keys' router key)."""
    result = subprocess.run(
        [sys.executable, "-m", "scripts.router_token", "--json"],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    line = result.stdout.strip()
    assert "X-Router-Token" in json.loads(line)
    return line


def test_graphiql_at_the_router(recorded: Recorded, web_stack: Stack, artifacts: Path) -> None:
    user = register_and_login(web_stack, "giql")
    page = open_graphiql(recorded, f"{web_stack.router_base}/graphql")
    expect(page.locator(".sawit-title")).to_have_text("Dompet Digital Sawit: router")

    # the schema came in by introspection: the docs list the supergraph's root fields
    docs = open_docs(page)
    docs.get_by_role("link", name="Query", exact=True).first.click(timeout=SLOW)
    expect(docs).to_contain_text("myWallets", timeout=SLOW)
    expect(docs).to_contain_text("me")
    page.get_by_role("button", name="Show GraphiQL Explorer").click()
    expect(page.locator(".graphiql-plugin")).to_contain_text("myWallets", timeout=SLOW)

    # autocompletion from the schema (monaco-graphql in its worker)
    replace_query(page, "{ myWa")
    suggest = page.locator(".suggest-widget")
    if not suggest.is_visible():
        page.keyboard.press("Control+Space")
    expect(suggest).to_be_visible(timeout=SLOW)
    expect(suggest).to_contain_text("myWallets")
    page.keyboard.press("Escape")

    # a pasted token becomes the Authorization header, and a query runs with it
    page.get_by_label("Token", exact=True).fill(user["token"])
    page.get_by_role("button", name="Use token").click()
    expect(page.locator(".sawit-status")).to_contain_text("Authorization")
    expect(page.locator(".graphiql-editor-tool")).to_contain_text("Bearer")
    replace_query(page, "{ me { username } }")
    page.get_by_role("button", name="Execute query").click()
    response = page.locator(".graphiql-response")
    expect(response).to_contain_text(user["username"], timeout=SLOW)
    expect(response).to_contain_text('"me"')
    page.screenshot(path=str(artifacts / "graphiql-router-1280.png"))

    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Hide GraphiQL Explorer").click()  # the editors need the width
    expect(page.get_by_label("Token", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Execute query")).to_be_in_viewport()
    page.screenshot(path=str(artifacts / "graphiql-router-375.png"))

    assert recorded.foreign(web_stack.router_base) == [], recorded.foreign(web_stack.router_base)
    assert any("/graphiql/assets/" in u and "worker" in u for u in recorded.urls), recorded.urls


def test_graphiql_at_a_subgraph(recorded: Recorded, web_stack: Stack, artifacts: Path) -> None:
    url = web_stack.subgraph_url("wallet")
    page = open_graphiql(recorded, url)
    note = page.locator(".sawit-note")
    expect(note).to_contain_text("sawit-router-token --json")
    expect(note).to_contain_text("SUBGRAPH_FEDERATION_AUTH=off")

    # without the router's credential, introspection is refused, and GraphiQL says so (no hang)
    expect(page.locator(".graphiql-response")).to_contain_text("introspection", timeout=SLOW)

    # with it (the real command's output pasted into Token), the schema loads
    page.get_by_label("Token", exact=True).fill(router_credential_json())
    page.get_by_role("button", name="Use token").click()
    expect(page.locator(".sawit-status")).to_contain_text("X-Router-Token")
    docs = open_docs(page)
    docs.get_by_role("link", name="Query", exact=True).first.click(timeout=SLOW)
    expect(docs).to_contain_text("myWallets", timeout=SLOW)
    expect(page.locator(".graphiql-response")).not_to_contain_text("FORBIDDEN")  # the refusal is gone
    replace_query(page, "{ myWallets { walletId } }")
    page.get_by_role("button", name="Execute query").click()
    # no user token: the wallet subgraph's own answer, shown as GraphQL errors, not a broken page
    expect(page.locator(".graphiql-response")).to_contain_text('"errors"', timeout=SLOW)
    page.screenshot(path=str(artifacts / "graphiql-subgraph-wallet-1280.png"))

    assert recorded.foreign(origin_of(url)) == [], recorded.foreign(origin_of(url))
