"""GraphiQL in a browser, for the router's `/graphql` and every subgraph's, from this process only.

`graphiql/` (npm + Vite, `scripts/build-graphiql`) builds GraphiQL 5 into `graphiql/dist`: an
`index.html` template and hashed js/css/worker/font files under `assets/`, all referenced as
`/graphiql/assets/...`. `GraphiQLAssets` fills the template in for one endpoint (title, a note, the
endpoint) and serves `assets/`, so a browser never needs a CDN or a font service (the point: the
page works offline, and nothing third-party runs next to a user's bearer token).

When the build is missing or incomplete (no node at setup time, a failed `npm ci`), the page falls
back to `GRAPHIQL_HTML`, a small self-contained query page, and says why at the top, so nobody is
left staring at a "Loading..." that never ends. `GRAPHIQL_DIST_DIR` points at another build.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

REPO_ROOT = Path(__file__).resolve().parents[1]
DIST_ENV = "GRAPHIQL_DIST_DIR"
# Where the browser finds the built files; vite.config.js's `base` plus Vite's `assets/` folder.
ASSETS_PREFIX = "/graphiql/assets"
# Written by scripts/_bootstrap.sh when a build attempt failed (git-ignored), so the page can say why.
BUILD_ERROR_FILE = REPO_ROOT / "graphiql" / ".build-error"
_ASSET_REF = re.compile(r'(?:src|href)="(/graphiql/assets/[^"?#]+)"')
_NOTICE_MARK = "<!--sawit-notice-->"
# The element graphiql/src/config.js reads the page's settings from.
CONFIG_ID = "sawit-graphiql-config"
# Python 3.11's mimetypes does not know every one of these, and a module script needs a JS type.
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".ttf": "font/ttf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".svg": "image/svg+xml",
}

GRAPHIQL_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>GraphQL</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; display: flex; flex-direction: column;
    height: 100vh; }
  .panes { flex: 1; display: flex; min-height: 0; }
  .pane { flex: 1; display: flex; flex-direction: column; padding: 8px; box-sizing: border-box; }
  .notice { margin: 0; padding: 6px 12px; background: #fff8e1; border-bottom: 1px solid #f0a000;
    color: #4a3b00; font-size: 14px; }
  textarea, pre { flex: 1; font-family: ui-monospace, monospace; font-size: 13px; width: 100%;
    box-sizing: border-box; border: 1px solid #ccc; border-radius: 4px; padding: 8px; margin: 4px 0; }
  pre { overflow: auto; background: #f7f7f7; white-space: pre-wrap; }
  #vars, #headers { flex: 0 0 80px; }
  button { padding: 6px 16px; font-size: 14px; }
</style>
</head>
<body>
<!--sawit-notice-->
<div class="panes">
<div class="pane">
  <label>Query</label>
  <textarea id="query">{ __typename }</textarea>
  <label>Variables (JSON)</label>
  <textarea id="vars">{}</textarea>
  <label>Headers (JSON, e.g. {"Authorization": "Bearer ..."})</label>
  <textarea id="headers">{}</textarea>
  <button id="run">Run (Ctrl+Enter)</button>
</div>
<div class="pane">
  <label>Response</label>
  <pre id="out"></pre>
</div>
</div>
<script>
async function run() {
  const out = document.getElementById('out');
  let variables = {}, headers = {};
  try { variables = JSON.parse(document.getElementById('vars').value || '{}'); }
  catch (e) { out.textContent = 'Variables are not JSON: ' + e; return; }
  try { headers = JSON.parse(document.getElementById('headers').value || '{}'); }
  catch (e) { out.textContent = 'Headers are not JSON: ' + e; return; }
  const res = await fetch(window.location.pathname, {
    method: 'POST',
    headers: Object.assign({'content-type': 'application/json', 'accept': 'application/json'}, headers),
    body: JSON.stringify({query: document.getElementById('query').value, variables}),
  });
  out.textContent = JSON.stringify(await res.json(), null, 2);
}
document.getElementById('run').onclick = run;
document.addEventListener('keydown', e => { if (e.ctrlKey && e.key === 'Enter') run(); });
</script>
</body>
</html>
"""


def dist_dir() -> Path:
    """The GraphiQL build to serve: `GRAPHIQL_DIST_DIR`, else `graphiql/dist` in this checkout."""
    configured = os.environ.get(DIST_ENV, "").strip()
    return Path(configured) if configured else REPO_ROOT / "graphiql" / "dist"


def _shown(path: Path) -> str:
    """A path as a person would type it: relative to the repository when it is inside it."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _last_build_error() -> str:
    try:
        text = BUILD_ERROR_FILE.read_text("utf-8").strip()
    except OSError:
        return ""
    return f" (last build attempt: {text[:300]})" if text else ""


def _load(dist: Path) -> tuple[str | None, str | None]:
    """(the index.html template, None) for a complete build, else (None, why it cannot be used).

    "Complete" means every file the template references exists: a build that died halfway, or a
    dist built with another `base`, would otherwise give a page whose scripts all answer 404."""
    hint = "run scripts/build-graphiql; showing the basic page"
    if not dist.is_dir():
        return None, f"GraphiQL assets are not built ({_shown(dist)} missing): {hint}{_last_build_error()}"
    index = dist / "index.html"
    try:
        template = index.read_text("utf-8")
    except OSError:
        return None, f"GraphiQL assets are not built ({_shown(index)} missing): {hint}{_last_build_error()}"
    refs = _ASSET_REF.findall(template)
    if not refs:
        return None, f"GraphiQL build in {_shown(dist)} does not load {ASSETS_PREFIX}/ files: {hint}"
    for ref in refs:
        if not (dist / ref.removeprefix("/graphiql/")).is_file():
            return None, f"GraphiQL build in {_shown(dist)} is incomplete ({ref} missing): {hint}"
    return template, None


def _json_for_html(value: object) -> str:
    """JSON that cannot end the <script> element it sits in (nor open a comment)."""
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class AssetFiles(StaticFiles):
    """The build's `assets/`: explicit media types, and cached for good (Vite hashes every name)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, check_dir=False)
        self.present = directory.is_dir()

    async def check_config(self) -> None:
        """No build is a 404 per file (the page already says why), not Starlette's RuntimeError."""
        if self.present:
            await super().check_config()

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        media_type = _MEDIA_TYPES.get(Path(full_path).suffix.lower())
        if media_type is not None and response.status_code == 200:
            response.headers["content-type"] = media_type
        response.headers["cache-control"] = "public, max-age=31536000, immutable"
        return response


class GraphiQLAssets:
    """One process's GraphiQL: the page for its endpoint and the files that page loads.

    Built once per app (the template is read at start, not per request); `reason` is None when the
    real GraphiQL is served and says why not otherwise."""

    def __init__(self, dist: Path | None = None) -> None:
        self.dist = dist if dist is not None else dist_dir()
        self.template, self.reason = _load(self.dist)

    @property
    def built(self) -> bool:
        return self.template is not None

    def page(self, *, title: str, note: str = "", default_query: str = "") -> str:
        """The HTML for one endpoint; the browser posts to the URL it loaded the page from."""
        if self.template is None:
            return fallback_page(title=title, notices=[self.reason or "", note])
        config = {"title": title, "note": note, "defaultQuery": default_query}
        script = f'<script type="application/json" id="{CONFIG_ID}">{_json_for_html(config)}</script>'
        page = re.sub(r"<title>.*?</title>", f"<title>{html.escape(title)}</title>", self.template, count=1)
        return page.replace("</head>", f"    {script}\n  </head>", 1)

    def static_app(self) -> AssetFiles:
        """An ASGI app for `ASSETS_PREFIX` (404 for everything when there is no build)."""
        return AssetFiles(self.dist / "assets")


def fallback_page(*, title: str, notices: list[str]) -> str:
    """`GRAPHIQL_HTML` with the given notices (why GraphiQL is not there; the endpoint's note) on top."""
    shown = "".join(f'<p class="notice" role="note">{html.escape(text)}</p>\n' for text in notices if text)
    page = GRAPHIQL_HTML.replace("<title>GraphQL</title>", f"<title>{html.escape(title)}</title>", 1)
    return page.replace(_NOTICE_MARK, shown, 1)
