"""The web app's ES modules as files, without a browser: each one small enough to read and headed by
why it exists, every import naming a file in web/, and every file reachable from the page's one
entry (the router serves web/ as a plain directory, so a module nobody imports is dead code)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.procs import REPO_ROOT

WEB = REPO_ROOT / "web"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 65
IMPORT = re.compile(r'^import (?:[^"]+ from )?"\./([\w.]+)";$', re.M)
ENTRY = re.compile(r'<script type="module" src="([\w.]+)"></script>')
OPENS = re.compile(r"\bfunction\b|=>\s*\{")


def modules() -> list[Path]:
    return sorted(WEB.glob("*.js"))


def function_lengths(text: str) -> list[tuple[int, int]]:
    """(first line, length) of every function whose body closes at the indentation it opened at."""
    lines = text.split("\n")
    found = []
    for start, line in enumerate(lines):
        if not (OPENS.search(line) and line.rstrip().endswith("{")):
            continue
        indent = len(line) - len(line.lstrip())
        for end in range(start + 1, len(lines)):
            closing = lines[end]
            if closing.strip().startswith("}") and len(closing) - len(closing.lstrip()) == indent:
                found.append((start + 1, end - start + 1))
                break
    return found


def test_every_module_is_small_and_says_why_it_exists() -> None:
    assert modules()
    for module in modules():
        text = module.read_text()
        assert text.count("\n") <= MAX_MODULE_LINES, module.name
        assert text.startswith("// "), f"{module.name} has no header comment"
        long = [(line, n) for line, n in function_lengths(text) if n > MAX_FUNCTION_LINES]
        assert not long, f"{module.name}: functions over {MAX_FUNCTION_LINES} lines at {long}"


def test_every_module_is_loaded_from_the_page_and_every_import_exists() -> None:
    entries = ENTRY.findall((WEB / "index.html").read_text())
    assert entries == ["app.js"]
    reached: set[str] = set()
    waiting = list(entries)
    while waiting:
        name = waiting.pop()
        if name in reached:
            continue
        assert (WEB / name).is_file(), f"{name} is imported but not in web/"
        reached.add(name)
        waiting.extend(IMPORT.findall((WEB / name).read_text()))
    assert reached == {module.name for module in modules()}
