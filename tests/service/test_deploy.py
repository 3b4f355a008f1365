"""docker-compose.yml and deploy/*.Dockerfile, checked without a Docker engine (none runs here).

The YAML is parsed; every build context and Dockerfile must exist; every ``DEEPFAKE_*`` variable a
service sets must be a field of the settings class that service reads (a typo would be silently
ignored by pydantic-settings); the gateway image must not install the model stack. When the
``docker compose`` CLI is present its own ``config`` validation runs too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from shared import settings as s
from shared.roles import ModelRole, roles

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"

#: env prefix → the settings classes that read it (plain DEEPFAKE_ is the model/analysis settings); each
#: model role's inference service reads its own prefix (``shared.roles``)
PREFIXES = {
    "DEEPFAKE_GATEWAY_": [s.GatewaySettings],
    "DEEPFAKE_WORKER_": [s.WorkerSettings],
    **{role.service_env_prefix: [role.service_settings_class()] for role in roles()},
    "DEEPFAKE_PROVENANCE_": [s.ProvenanceSettings],
    "DEEPFAKE_": [s.AnalyzeSettings],
}


def _field_for(name: str) -> bool:
    for prefix, classes in PREFIXES.items():  # longest prefixes first (dict order above)
        if name.startswith(prefix):
            field = name[len(prefix):].lower()
            return any(field in cls.model_fields for cls in classes)
    return False


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_services_build_contexts_and_dockerfiles_exist(compose: dict) -> None:
    services = compose["services"]
    assert {"redis", "gateway", "worker", *(role.service for role in roles())} <= set(services)
    for name, service in services.items():
        if "build" not in service:
            continue
        context = (REPO / service["build"]["context"]).resolve()
        dockerfile = context / service["build"]["dockerfile"]
        assert context.is_dir(), name
        assert dockerfile.is_file() and dockerfile.parent == REPO / "deploy", name
        text = dockerfile.read_text()
        for copied in re.findall(r"^COPY (\S+) ", text, flags=re.M):
            assert (context / copied).exists(), f"{dockerfile.name} copies missing {copied}"
        module = re.search(r'^CMD \["python", "-m", "([\w.]+)"(?:, "[^"]*")*\]', text, flags=re.M)
        assert module, f"{dockerfile.name} has no CMD python -m"
        assert (REPO / module.group(1).replace(".", "/") / "__main__.py").is_file(), module.group(1)


def test_every_deepfake_variable_is_a_settings_field(compose: dict) -> None:
    names: list[str] = []
    for service in compose["services"].values():
        env = service.get("environment") or {}
        names += list(env) if isinstance(env, dict) else [e.split("=")[0] for e in env]
    for dockerfile in (REPO / "deploy").glob("*.Dockerfile"):
        names += re.findall(r"\b(DEEPFAKE_[A-Z_]+)=", dockerfile.read_text())
    deepfake = sorted({n for n in names if n.startswith("DEEPFAKE_")})
    assert deepfake, "the compose file configures the services"
    unknown = [n for n in deepfake if not _field_for(n)]
    assert unknown == []


def test_gateway_and_worker_agree_on_redis_folders_and_services(compose: dict) -> None:
    gw, wk = compose["services"]["gateway"]["environment"], compose["services"]["worker"]["environment"]
    for key in ("REDIS_URL", "UPLOAD_DIR", "ARTIFACTS_DIR", *(r.service_url_field.upper() for r in roles())):
        assert gw[f"DEEPFAKE_GATEWAY_{key}"] == wk[f"DEEPFAKE_WORKER_{key}"], key
    shared_volume = {v.split(":")[0] for v in compose["services"]["gateway"]["volumes"]}
    assert shared_volume & {v.split(":")[0] for v in compose["services"]["worker"]["volumes"]}


def test_gateway_image_installs_no_model_stack() -> None:
    text = (REPO / "deploy" / "gateway.Dockerfile").read_text()
    installs = " ".join(re.findall(r"pip install ([^\n]+)", text))
    assert '".[gateway]"' in installs and "ml" not in installs and "torch" not in installs


@pytest.mark.skipif(
    not shutil.which("docker")
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="the docker compose CLI is not installed here",
)
def test_docker_compose_config_validates() -> None:
    out = subprocess.run(["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_every_long_running_service_restarts_when_it_dies(compose: dict) -> None:
    """Issue 14: a worker killed by one upload must come back (the local runner's supervisor does the same)."""
    for name, service in compose["services"].items():
        if "setup" in service.get("profiles", []):
            continue  # a one-shot job (model conversion), run by hand: nothing to restart
        assert service.get("restart") in ("unless-stopped", "always", "on-failure"), name


# --- one service per model role (shared.roles): a new role cannot be forgotten in compose or the Makefile ---
@pytest.mark.parametrize("role", list(roles()), ids=lambda r: r.name)
def test_compose_runs_each_model_role_as_its_own_service(compose: dict, role: ModelRole) -> None:
    services = compose["services"]
    service = services[role.service]
    dockerfile = (REPO / service["build"]["context"] / service["build"]["dockerfile"]).read_text()
    assert re.search(rf'^CMD \["python", "-m", "{role.service}"\]', dockerfile, flags=re.M)
    assert (REPO / role.service / "__main__.py").is_file() and (REPO / role.service / "app.py").is_file()
    # it listens on the role's port, and the gateway and the workers reach it there
    assert str(service["environment"][role.service_env_prefix + "PORT"]) == str(role.port)
    assert re.search(rf"^EXPOSE {role.port}$", dockerfile, flags=re.M)
    url = f"http://{role.service}:{role.port}"
    assert services["gateway"]["environment"][role.gateway_url_env] == url
    assert services["worker"]["environment"][role.worker_url_env] == url
    assert role.service in services["worker"]["depends_on"]
    # its model is chosen by the role's setting, defaulting to the role's published model
    models = compose["x-models"]
    assert models[role.model_env] == f"${{{role.model_env}:-{role.default_model}}}"
    assert service["environment"][role.model_env] == models[role.model_env]


@pytest.mark.parametrize("role", list(roles()), ids=lambda r: r.name)
def test_makefile_lints_and_type_checks_each_model_roles_service(role: ModelRole) -> None:
    makefile = (REPO / "Makefile").read_text()
    for tool in ("ruff check", "mypy"):
        line = next(line for line in makefile.splitlines() if f"$(BIN)/{tool} " in line)
        assert role.service in line.split(), f"make lint: {tool} skips {role.service}"


@pytest.mark.parametrize("role", list(roles()), ids=lambda r: r.name)
def test_each_model_roles_settings_and_loaders_exist(role: ModelRole) -> None:
    """The role's env names are settings fields with the role's defaults; its loaders import."""
    from shared.registry import get_published

    assert s.ModelSettings().model_fields[role.model_field].default == role.default_model
    assert get_published(role.default_model).kind == role.registry_kind
    for cls in (s.GatewaySettings, s.WorkerSettings):
        assert cls.model_fields[role.service_url_field].default == role.default_service_url
    assert role.service_settings_class().model_fields["port"].default == role.port
    assert _field_for(role.model_env) and _field_for(role.worker_url_env) and _field_for(role.gateway_url_env)
    assert callable(role.remote_scorer_class())
    from shared.roles import _load_dotted

    assert callable(_load_dotted(role.local_scorer))


def test_every_setting_named_in_the_service_docs_exists() -> None:
    """The settings table of docs/service.md names real fields, and each role's service URL is in it."""
    rows = [line for line in (REPO / "docs" / "service.md").read_text().splitlines()
            if line.startswith("| `DEEPFAKE_")]
    assert rows
    named: list[str] = []
    for row in rows:
        prefixes_cell, _, fields_cell = row.split("|")[1:4]
        prefixes = re.findall(r"`(DEEPFAKE_[A-Z_]*)`", prefixes_cell)
        fields = [f for f in re.findall(r"`([A-Z][A-Z0-9_]*)`", fields_cell)]
        for prefix in prefixes:
            named += [prefix + field for field in fields]
            unknown = [prefix + f for f in fields if not _field_for(prefix + f)]
            assert unknown == [], f"docs/service.md names settings that do not exist: {unknown}"
    for role in roles():
        assert {role.worker_url_env, role.gateway_url_env, role.model_env} <= set(named), role.name
