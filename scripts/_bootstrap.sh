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
