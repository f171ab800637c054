# Sourced by scripts/run and scripts/test: make .venv and install the project when needed.
# Re-installs only when pyproject.toml changed since the last install (a stamp file records it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

pick_python() {
  for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "error: Python >= 3.11 is required" >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  PY="$(pick_python)"
  echo "==> creating .venv with $PY"
  "$PY" -m venv .venv
fi

STAMP=.venv/.sawit-installed
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ]; then
  echo "==> installing the project into .venv"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  touch "$STAMP"
fi

.venv/bin/python -m scripts.keygen >/dev/null

# GraphiQL's local assets (graphiql/dist), built when missing or older than their sources. This
# never fails the bootstrap: without node/npm, or when the build fails, the router and the subgraphs
# serve their basic query page, which says why (from graphiql/.build-error, written here). A failed
# attempt is not retried until the sources change or the file is deleted: an offline `npm ci`
# takes minutes to give up.
graphiql_sources_newer_than() {
  [ -n "$(find graphiql/package.json graphiql/package-lock.json graphiql/vite.config.js \
    graphiql/index.html graphiql/src -newer "$1" -print -quit 2>/dev/null)" ]
}
GRAPHIQL_INDEX=graphiql/dist/index.html
GRAPHIQL_ERROR=graphiql/.build-error
if [ ! -f "$GRAPHIQL_INDEX" ] || graphiql_sources_newer_than "$GRAPHIQL_INDEX"; then
  if [ -f "$GRAPHIQL_ERROR" ] && ! graphiql_sources_newer_than "$GRAPHIQL_ERROR"; then
    echo "warning: GraphiQL not built: $(cat "$GRAPHIQL_ERROR") (run scripts/build-graphiql to retry)" >&2
  elif ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "warning: node/npm not found: GraphiQL not built, the basic query page is served" >&2
    echo "node/npm not found" >"$GRAPHIQL_ERROR"
  else
    echo "==> building GraphiQL into graphiql/dist (scripts/build-graphiql)"
    GRAPHIQL_LOG="$(mktemp)"
    if scripts/build-graphiql >"$GRAPHIQL_LOG" 2>&1; then
      rm -f "$GRAPHIQL_ERROR"
    else
      echo "warning: scripts/build-graphiql failed; the basic query page is served. Its output:" >&2
      tail -n 15 "$GRAPHIQL_LOG" >&2
      echo "scripts/build-graphiql failed: $(grep -v '^\s*$' "$GRAPHIQL_LOG" | tail -n 1)" >"$GRAPHIQL_ERROR"
    fi
    rm -f "$GRAPHIQL_LOG"
  fi
fi
