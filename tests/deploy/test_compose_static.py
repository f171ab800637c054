"""compose.yaml, compose.postgres.yaml and the Dockerfile, checked without a Docker engine.

This machine has the docker client but no engine (and no compose plugin), so the deployment is
proven statically: the files parse, every service runs the process the design names on its port,
waits for what it needs, is health-checked by a probe that really works, and sees only the keys it
should. `docker compose config` is used only when a compose client is installed (it needs no engine).
"""

from __future__ import annotations

import http.server
import ipaddress
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic_settings import BaseSettings

from shared.settings import DEFAULT_PORTS, Settings
from subgraphs.auth.config import AuthConfig
from subgraphs.fraud.config import FraudConfig
from subgraphs.history.config import HistoryConfig
from subgraphs.transactions.config import TransactionsConfig
from subgraphs.wallet.config import WalletSettings
from supergraph.config import RouterSettings
from tests.deploy.compose_files import (
    COMPOSE_FILE,
    DEPLOY_SUPERGRAPH,
    DOCKERFILE,
    POSTGRES_INIT,
    POSTGRES_OVERRIDE,
    SUBGRAPHS,
    Interpolation,
    Mount,
    depends_on,
    environment_of,
    load_yaml,
    mounts_of,
    published_ports,
)
from tests.support.procs import REPO_ROOT, free_port

KEYS_TARGET = "/keys"  # KEYS_DIR in the image (Dockerfile ENV)
APP_SERVICES = (*SUBGRAPHS, "router", "marketplace")
# Each subgraph's own knobs (its config.py), read besides shared.settings.Settings.
SUBGRAPH_CONFIGS: tuple[type[BaseSettings], ...] = (
    AuthConfig,
    WalletSettings,
    TransactionsConfig,
    FraudConfig,
    HistoryConfig,
)


@pytest.fixture(scope="module")
def compose() -> dict:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


@pytest.fixture(scope="module")
def override() -> dict:
    return load_yaml(POSTGRES_OVERRIDE)


def _env_names(config: type[BaseSettings]) -> set[str]:
    """The variables a settings class reads: its aliases, else its prefix + field name in capitals."""
    prefix = str(config.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field, info in config.model_fields.items():
        alias = info.validation_alias
        names.update(str(n).upper() for n in getattr(alias, "choices", [alias]) if n)
        if alias is None:
            names.add(f"{prefix}{field}".upper())
    return names


def _router_env_names() -> set[str]:
    return {str(info.alias) for info in RouterSettings.model_fields.values() if info.alias}


# ---- the shape of the file --------------------------------------------------------------------


def test_compose_file_follows_the_compose_specification_without_a_version_key(compose: dict) -> None:
    assert "version" not in compose
    assert set(compose) <= {"name", "services", "volumes", "networks", "configs", "secrets"} | {
        k for k in compose if k.startswith("x-")
    }


def test_every_process_of_the_design_has_a_service_plus_keygen_and_postgres(services: dict) -> None:
    assert set(services) == {*APP_SERVICES, "keygen", "postgres"}


def test_each_service_runs_the_python_module_the_design_names(services: dict) -> None:
    expected = {name: f"subgraphs.{name}.app" for name in SUBGRAPHS}
    expected |= {"router": "supergraph.server", "marketplace": "scripts.marketplace_sandbox"}
    for name, module in expected.items():
        assert services[name]["command"] == ["python", "-m", module], name
        assert (REPO_ROOT / (module.replace(".", "/") + ".py")).is_file(), f"{module} does not exist"


def test_every_application_service_is_built_from_the_project_dockerfile(services: dict) -> None:
    for name in (*APP_SERVICES, "keygen"):
        build = services[name]["build"]
        context = (REPO_ROOT / build["context"]).resolve()
        assert context == REPO_ROOT, name
        assert (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE


def test_a_fresh_checkout_needs_no_env_file_every_variable_has_a_default() -> None:
    for path in (COMPOSE_FILE, POSTGRES_OVERRIDE):
        interpolation = Interpolation()
        load_yaml(path, interpolation)
        assert interpolation.referenced, path
        assert interpolation.without_default == set(), f"{path.name} needs {interpolation.without_default}"


def test_secrets_are_read_from_the_environment_with_development_defaults_only() -> None:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())["services"]  # before interpolation
    secrets = {("auth", "ADMIN_PASSWORD"), ("postgres", "POSTGRES_PASSWORD")}
    secrets |= {("postgres", f"{name.upper()}_DB_PASSWORD") for name in SUBGRAPHS}
    for service, variable in secrets:
        assert environment_of(raw[service])[variable].startswith(f"${{{variable}:-"), (service, variable)
    override = yaml.safe_load(POSTGRES_OVERRIDE.read_text())["services"]
    for name in SUBGRAPHS:
        url = environment_of(override[name])["DATABASE_URL"]
        assert f":${{{name.upper()}_DB_PASSWORD:-" in url, name


# ---- ports ------------------------------------------------------------------------------------


def test_router_subgraphs_and_sandbox_are_published_on_the_design_ports(services: dict) -> None:
    assert published_ports(services["router"]) == {8000: ("", 8000)}
    for name in SUBGRAPHS:
        port = DEFAULT_PORTS[name]
        # the container listens on the design port (no <NAME>_PORT override), the host sees the same
        assert f"{name.upper()}_PORT" not in environment_of(services[name])
        assert published_ports(services[name]) == {port: ("127.0.0.1", port)}, name
    assert published_ports(services["marketplace"]) == {7001: ("127.0.0.1", 7001), 7003: ("127.0.0.1", 7003)}
    env = environment_of(services["marketplace"])
    assert (env["SANDBOX_USERS_PORT"], env["SANDBOX_ORDERS_PORT"]) == ("7001", "7003")
    assert environment_of(services["router"])["ROUTER_PORT"] == "8000"


def test_only_the_router_is_published_beyond_the_host_itself(services: dict) -> None:
    for name, service in services.items():
        for host_ip, _port in published_ports(service).values():
            assert host_ip == ("" if name == "router" else "127.0.0.1"), name


# ---- wiring between the processes -------------------------------------------------------------


def test_subgraphs_reach_each_other_by_compose_service_name(services: dict) -> None:
    known = _env_names(Settings).union(*(_env_names(config) for config in SUBGRAPH_CONFIGS))
    for name in SUBGRAPHS:
        env = environment_of(services[name])
        assert set(env) <= known, f"{name}: unknown variables {set(env) - known}"
        for other in SUBGRAPHS:
            assert env[f"{other.upper()}_URL"] == f"http://{other}:{DEFAULT_PORTS[other]}/graphql"
        if name != "auth":
            assert env["JWKS_URL"] == "http://auth:8001/.well-known/jwks.json"
    assert environment_of(services["transactions"])["MARKETPLACE_URL"] == "http://marketplace:7003/graphql"
    assert environment_of(services["marketplace"])["WALLET_GATEWAY_URL"] == "http://router:8000/graphql"


def test_subgraphs_trust_forwarded_client_addresses_from_the_router_alone(
    compose: dict, services: dict
) -> None:
    router_ip = services["router"]["networks"]["default"]["ipv4_address"]
    (subnet,) = [c["subnet"] for c in compose["networks"]["default"]["ipam"]["config"]]
    assert ipaddress.ip_address(router_ip) in ipaddress.ip_network(subnet)
    for name in SUBGRAPHS:
        assert environment_of(services[name])["TRUSTED_PROXIES"] == router_ip, name
    assert "TRUSTED_PROXIES" not in environment_of(services["router"])


def test_the_router_composes_from_the_deploy_supergraph_yaml_baked_into_the_image(services: dict) -> None:
    env = environment_of(services["router"])
    assert set(env) <= _router_env_names(), set(env) - _router_env_names()
    assert env["SUPERGRAPH_CONFIG"] == "/app/deploy/supergraph.yaml"
    assert "deploy/supergraph.yaml" in DOCKERFILE.read_text()
    # the web app is served by the router from the copy in the image (WORKDIR /app)
    assert env["ROUTER_STATIC_DIR"] == "/app/web"
    assert "COPY web ./web" in DOCKERFILE.read_text()
    assert (REPO_ROOT / "web" / "index.html").is_file()
    config = load_yaml(DEPLOY_SUPERGRAPH)
    root = load_yaml(REPO_ROOT / "supergraph.yaml")
    assert set(config["subgraphs"]) == set(root["subgraphs"]) == set(SUBGRAPHS)
    for name, entry in config["subgraphs"].items():
        for url in (entry["routing_url"], entry["schema"]["subgraph_url"]):
            parts = urlsplit(url)
            assert (parts.hostname, parts.port, parts.path) == (name, DEFAULT_PORTS[name], "/graphql")
            assert name in services


def test_start_order_waits_for_keys_healthy_dependencies_and_never_cycles(services: dict) -> None:
    for name in SUBGRAPHS:
        assert depends_on(services[name])["keygen"] == "service_completed_successfully", name
    assert depends_on(services["router"]) == {name: "service_healthy" for name in SUBGRAPHS}
    assert {k: v for k, v in depends_on(services["transactions"]).items() if k != "keygen"} == {
        "wallet": "service_healthy",
        "fraud": "service_healthy",
        "history": "service_healthy",
    }
    for name, service in services.items():
        for dependency, condition in depends_on(service).items():
            assert condition in ("service_healthy", "service_completed_successfully"), (name, dependency)
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}'s health"
            if condition == "service_completed_successfully":
                assert services[dependency].get("restart") == "no", dependency

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for dep in depends_on(services[start]):
            if dep == target or (dep not in seen and reaches(dep, target, seen | {dep})):
                return True
        return False

    assert not any(reaches(name, name, set()) for name in services)


def test_only_postgres_sits_behind_a_profile(services: dict) -> None:
    profiled = {name: s["profiles"] for name, s in services.items() if s.get("profiles")}
    assert profiled == {"postgres": ["postgres"]}


# ---- health checks ----------------------------------------------------------------------------


def _probe_url(service: dict) -> str:
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    return test[4]


def test_every_long_running_service_is_health_checked_on_its_own_port(services: dict) -> None:
    for name in SUBGRAPHS:
        url = urlsplit(_probe_url(services[name]))
        assert (url.hostname, url.port, url.path) == ("127.0.0.1", DEFAULT_PORTS[name], "/health"), name
    # the router is healthy once it serves a composed supergraph (its /ready), not merely listening
    assert _probe_url(services["router"]) == "http://127.0.0.1:8000/ready"
    assert services["marketplace"]["healthcheck"]["test"][4:] == [
        "http://127.0.0.1:7001/health",
        "http://127.0.0.1:7003/health",
    ]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]
    assert "healthcheck" not in services["keygen"]
    for service in services.values():
        if "healthcheck" in service:
            assert service["healthcheck"]["retries"] >= 3
            assert "start_period" in service["healthcheck"]


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _run_probe(test: list[str], *args: str) -> int:
    # the exact probe compose runs, with this interpreter instead of the image's `python`
    command = [sys.executable, *test[2:4], *args]
    return subprocess.run(command, capture_output=True, timeout=20).returncode


def test_the_http_probe_passes_on_2xx_and_fails_on_errors_and_closed_ports(
    services: dict, health_server: int
) -> None:
    test = services["auth"]["healthcheck"]["test"]
    healthy = f"http://127.0.0.1:{health_server}/health"
    assert _run_probe(test, healthy) == 0
    assert _run_probe(test, f"http://127.0.0.1:{health_server}/ready") != 0
    assert _run_probe(test, f"http://127.0.0.1:{free_port()}/health") != 0
    # the sandbox lists two URLs: both must answer
    assert services["marketplace"]["healthcheck"]["test"][:4] == test[:4]
    assert _run_probe(test, healthy, healthy) == 0
    assert _run_probe(test, healthy, f"http://127.0.0.1:{free_port()}/health") != 0


# ---- volumes, data and keys -------------------------------------------------------------------


def mount_on(service: dict, target: str) -> Mount:
    found = [m for m in mounts_of(service) if m.target == target]
    assert len(found) == 1, f"no single mount on {target}"
    return found[0]


def test_sqlite_is_the_default_in_the_shared_data_volume(services: dict, compose: dict) -> None:
    assert {"data", "keys", "auth-keys", "service-keys", "public-keys", "router-keys"} <= set(
        compose["volumes"]
    )
    for name in SUBGRAPHS:
        env = environment_of(services[name])
        assert not any(k.endswith("DATABASE_URL") for k in env), name
        assert mount_on(services[name], "/data").source == "data"
    assert "DATA_DIR=/data" in DOCKERFILE.read_text().replace(" ", "")


def test_key_volumes_are_mounted_read_only_on_keys_dir_and_only_where_needed(services: dict) -> None:
    expected = {"auth": "auth-keys", "transactions": "service-keys", "router": "router-keys"}
    expected |= {name: "public-keys" for name in ("wallet", "fraud", "history")}
    key_volumes = {"keys", "auth-keys", "service-keys", "public-keys", "router-keys"}
    for name, service in services.items():
        mounted = [m for m in mounts_of(service) if m.source in key_volumes]
        if name == "keygen":
            assert {(m.source, m.read_only) for m in mounted} == {(v, False) for v in key_volumes}
        elif name in expected:
            assert [(m.source, m.target, m.read_only) for m in mounted] == [
                (expected[name], KEYS_TARGET, True)
            ], name
        else:
            assert mounted == [], f"{name} must not see any key"
    assert f"KEYS_DIR={KEYS_TARGET}" in DOCKERFILE.read_text().replace(" ", "")


def test_the_postgres_init_script_is_mounted_from_an_existing_file(services: dict) -> None:
    binds = [m for m in mounts_of(services["postgres"]) if m.is_bind]
    assert [(Path(REPO_ROOT, m.source).resolve(), m.read_only) for m in binds] == [(POSTGRES_INIT, True)]
    assert binds[0].target.startswith("/docker-entrypoint-initdb.d/")
    assert services["postgres"]["image"] == "postgres:16-alpine"


def test_every_file_the_compose_files_refer_to_exists(services: dict, override: dict) -> None:
    for service in [*services.values(), *override["services"].values()]:
        for mount in mounts_of(service):
            if mount.is_bind:
                assert (REPO_ROOT / mount.source).exists(), mount.source
        for env_file in service.get("env_file") or []:
            path = env_file if isinstance(env_file, str) else env_file["path"]
            assert (REPO_ROOT / path).is_file(), path
    keygen = services["keygen"]["command"]
    assert keygen == ["sh", "/app/deploy/keygen.sh"]
    assert "deploy/keygen.sh" in DOCKERFILE.read_text()


# ---- the postgres override --------------------------------------------------------------------


def test_the_postgres_override_gives_each_subgraph_its_own_database_and_role(
    services: dict,
) -> None:
    interpolation = Interpolation()
    override = load_yaml(POSTGRES_OVERRIDE, interpolation)
    load_yaml(COMPOSE_FILE, interpolation)
    assert set(override) == {"services"}
    assert set(override["services"]) == set(SUBGRAPHS)
    postgres_env = environment_of(services["postgres"])
    for name in SUBGRAPHS:
        patch = override["services"][name]
        assert set(patch) == {"environment", "depends_on"}
        assert depends_on(patch) == {"postgres": "service_healthy"}
        url = urlsplit(environment_of(patch)["DATABASE_URL"])
        assert (url.scheme, url.hostname, url.port) == ("postgresql+asyncpg", "postgres", 5432)
        assert (url.username, url.path) == (name, f"/{name}")
        password_var = f"{name.upper()}_DB_PASSWORD"
        # the same default on both sides, or the role's password and the URL's would differ
        assert len(interpolation.defaults[password_var]) == 1, interpolation.defaults[password_var]
        assert url.password == postgres_env[password_var] != ""
        assert password_var in POSTGRES_INIT.read_text()


# ---- the compose client itself, when installed ------------------------------------------------


def _compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=20)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.mark.parametrize(
    "files",
    [["compose.yaml"], ["compose.yaml", "compose.postgres.yaml"]],
    ids=["sqlite", "postgres"],
)
def test_the_compose_client_accepts_the_files_offline(files: list[str]) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("no compose client: `docker compose` is not a command here and docker-compose is absent")
    args = [*command, *(a for f in files for a in ("-f", f)), "--profile", "postgres", "config", "-q"]
    result = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
