"""The parts of `python -m scripts.bench_gateways` (our router against the Node gateways).

Kept apart from the entry point so each file does one job: `answer` knows what the benchmark must
answer, `processes` installs and starts the subgraphs and gateways, `load` drives wrk and prints the
table. The Node and Lua files beside them are the workload itself (copied into INSTALL_DIR).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO_ROOT / "scripts" / "gateways_bench"
INSTALL_DIR = Path(os.environ.get("SAWIT_BENCH_NODE_DIR") or REPO_ROOT / ".tmp" / "bench-gateways")
