"""A self-contained query page for browsers (nothing is loaded from a CDN)."""

from __future__ import annotations

GRAPHIQL_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>GraphQL</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 0; display: flex; height: 100vh; }
  .pane { flex: 1; display: flex; flex-direction: column; padding: 8px; box-sizing: border-box; }
  textarea, pre { flex: 1; font-family: ui-monospace, monospace; font-size: 13px; width: 100%;
    box-sizing: border-box; border: 1px solid #ccc; border-radius: 4px; padding: 8px; margin: 4px 0; }
  pre { overflow: auto; background: #f7f7f7; white-space: pre-wrap; }
  #vars, #headers { flex: 0 0 80px; }
  button { padding: 6px 16px; font-size: 14px; }
</style>
</head>
<body>
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
