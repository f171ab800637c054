"""Read compose.yaml, its override and the Dockerfile the way Compose and Docker would, without an engine.

Compose interpolates `${VAR:-default}` from the environment before anything else; the helpers here
resolve every reference with an EMPTY environment, i.e. exactly what `docker compose up` does on a
fresh checkout without a .env file, and report references that have no default.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.procs import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "compose.yaml"
POSTGRES_OVERRIDE = REPO_ROOT / "compose.postgres.yaml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
KEYGEN_SCRIPT = REPO_ROOT / "deploy" / "keygen.sh"
POSTGRES_INIT = REPO_ROOT / "deploy" / "postgres" / "init-databases.sh"
DEPLOY_SUPERGRAPH = REPO_ROOT / "deploy" / "supergraph.yaml"

SUBGRAPHS = ("auth", "wallet", "transactions", "fraud", "history")

_REFERENCE = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


@dataclass
class Interpolation:
    """Variables referenced, and those referenced without a default (a fresh checkout lacks them)."""

    referenced: set[str] = field(default_factory=set)
    without_default: set[str] = field(default_factory=set)
    defaults: dict[str, set[str]] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {self.resolve(k): self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, str):
            return _REFERENCE.sub(self._replace, value)
        return value

    def _replace(self, match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        self.referenced.add(name)
        op = match.group("op")
        if op in ("-", ":-"):
            default = match.group("arg") or ""
            self.defaults.setdefault(name, set()).add(default)
            return default
        self.without_default.add(name)
        return ""


def load_yaml(path: Path, interpolation: Interpolation | None = None) -> dict[str, Any]:
    raw = yaml.safe_load(path.read_text())
    assert isinstance(raw, dict), f"{path} is not a mapping"
    return (interpolation or Interpolation()).resolve(raw)


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment:` as a dict, whichever of the two Compose syntaxes it uses."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {k: v for k, v in pairs}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool

    @property
    def is_bind(self) -> bool:
        return self.source.startswith((".", "/", "~"))


def mounts_of(service: dict[str, Any]) -> list[Mount]:
    """Short (`src:dst[:ro]`) and long (`type/source/target/read_only`) volume syntax alike."""
    result = []
    for item in service.get("volumes") or []:
        if isinstance(item, str):
            parts = item.split(":")
            options = parts[2].split(",") if len(parts) > 2 else []
            result.append(Mount(parts[0], parts[1], "ro" in options))
        else:
            result.append(Mount(item["source"], item["target"], bool(item.get("read_only"))))
    return result


def published_ports(service: dict[str, Any]) -> dict[int, tuple[str, int]]:
    """container port -> (host ip or '', host port) for the short `[ip:]host:container` syntax."""
    result = {}
    for item in service.get("ports") or []:
        parts = str(item).split(":")
        container = int(parts[-1].split("/")[0])
        host_ip = parts[0] if len(parts) == 3 else ""
        result[container] = (host_ip, int(parts[-2]))
    return result


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    """dependency -> condition (the list syntax means `service_started`)."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {name: "service_started" for name in deps}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]]

    def all(self, keyword: str) -> list[str]:
        return [arg for kw, arg in self.instructions if kw == keyword]


def dockerfile_stages(path: Path = DOCKERFILE) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), parts[0])
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base, name, []))
        elif stages:
            stages[-1].instructions.append((keyword, rest))
        elif keyword == "ARG" and "=" in rest:
            key, _, value = rest.partition("=")
            args[key] = value
    return args, stages


def copy_sources(stage: Stage) -> list[str]:
    """Build-context paths a stage COPYs (not `--from=` copies out of another stage)."""
    sources: list[str] = []
    for arg in stage.all("COPY"):
        words = arg.split()
        if any(w.startswith("--from=") for w in words):
            continue
        words = [w for w in words if not w.startswith("--")]
        sources.extend(words[:-1])
    return sources
