"""The JSON log lines a process wrote (shared/logs.py format), read back from its log file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def log_entries(path: Path) -> list[dict[str, Any]]:
    """Every JSON object line of the file; other lines (e.g. a traceback) are skipped."""
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entries.append(json.loads(line))
    return entries
