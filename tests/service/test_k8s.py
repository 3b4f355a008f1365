"""deploy/k8s/ (kustomize base + overlay), rendered and validated offline.

Rendering is ``kubectl kustomize`` where kubectl is installed; elsewhere the base's resource files are
read as the base kustomization lists them (the overlay's namespace and images are then not checked,
and the tests that need them skip, saying so). Every object is validated against the Kubernetes
schemas bundled with ``kubernetes-validate`` (strict: an unknown field is an error, not silently
dropped by the API server), and KEDA's ScaledObject against its CRD schema vendored in
``tests/service/schemas/`` (the file says where it came from), made strict the same way.

Then the things a schema cannot know: the names the pieces use to find each other (Services, volumes,
ConfigMaps, probe ports), the settings every ``DEEPFAKE_*`` variable names, one Deployment, Service and
autoscaler per model role (``shared.roles``), and the queue KEDA watches being the one the gateway fills.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from test_deploy import _field_for

from shared.roles import roles
from shared.settings import GatewaySettings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAY = K8S / "overlays" / "production"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
#: the Kubernetes version the manifests are validated for (HPA autoscaling/v2 and the rest are GA there)
KUBERNETES_VERSION = "1.30.0"
KUBECTL = shutil.which("kubectl")


def _read_base(folder: Path) -> list[dict]:
    """The objects of a kustomization's resource files, without kustomize (no namespace, images, patches)."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    docs: list[dict] = []
    for resource in kustomization["resources"]:
        path = folder / resource
        docs += _read_base(path) if path.is_dir() else [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def render(folder: Path) -> list[dict]:
    assert KUBECTL is not None
    out = subprocess.run([KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    """The overlay rendered by kustomize, or (without kubectl) the base's files as they are."""
    return render(OVERLAY) if KUBECTL else _read_base(K8S / "base")


needs_kustomize = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed: the overlay is not rendered")


def find(objects: list[dict], kind: str, name: str | None = None) -> list[dict]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[dict], kind: str, name: str) -> dict:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def containers(obj: dict) -> list[dict]:
    spec = obj["spec"]["template"]["spec"] if obj["kind"] != "CronJob" else obj["spec"]["jobTemplate"]
    return spec["containers"]


def workloads(objects: list[dict]) -> list[dict]:
    return [o for o in objects if o["kind"] in ("Deployment", "StatefulSet", "Job")]


def container_env(container: dict, objects: list[dict]) -> dict[str, Any]:
    """A container's environment: its ConfigMaps' data, then its own ``env`` (values or valueFrom)."""
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        env.update(one(objects, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env


# --- rendering and schemas -----------------------------------------------------------------------------
@needs_kustomize
def test_base_and_overlay_render_and_the_overlay_sets_namespace_and_pinned_images() -> None:
    base, overlay = render(K8S / "base"), render(OVERLAY)
    assert len(overlay) == len(base) + 1  # the overlay adds its Namespace
    for obj in overlay:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == "deepfake", obj["metadata"]["name"]
    for obj in workloads(overlay):
        for c in containers(obj):
            name, _, tag = c["image"].rpartition(":")
            assert name and tag and tag != "latest", f"{obj['metadata']['name']}: image {c['image']} is not pinned"


def _strict(schema: Any) -> Any:
    """The schema with ``additionalProperties: false`` on every object that lists its properties, as
    kubernetes-validate's strict schemas do (``metadata`` stays open: it is the API server's)."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def test_every_object_validates_against_its_schema(objects: list[dict]) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    import jsonschema

    keda = _strict(json.loads((SCHEMAS / "keda-scaledobject-v1alpha1.json").read_text()))
    keda.pop("$comment")
    kinds = set()
    for obj in objects:
        kinds.add(obj["kind"])
        label = f"{obj['kind']} {obj['metadata']['name']}"
        if obj["apiVersion"] == "keda.sh/v1alpha1":
            assert obj["kind"] == "ScaledObject", label
            jsonschema.validate(obj, keda, cls=jsonschema.Draft7Validator)
        else:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    assert {"Deployment", "Service", "Ingress", "StatefulSet", "PersistentVolumeClaim", "Job",
            "HorizontalPodAutoscaler", "NetworkPolicy", "ConfigMap", "ScaledObject"} <= kinds


def test_the_validation_catches_a_mistyped_field(objects: list[dict]) -> None:
    """The strict schemas refuse what the API server would silently drop (the check is not a formality)."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    import jsonschema

    gateway = copy.deepcopy(one(objects, "Deployment", "gateway"))
    gateway["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(gateway, KUBERNETES_VERSION, strict=True)
    scaled = copy.deepcopy(one(objects, "ScaledObject", "worker"))
    scaled["spec"]["triggers"][0]["metadata"]["listLength"] = 2  # KEDA wants strings in trigger metadata
    keda = _strict(json.loads((SCHEMAS / "keda-scaledobject-v1alpha1.json").read_text()))
    keda.pop("$comment")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(scaled, keda)


# --- the names the pieces find each other by ------------------------------------------------------------
def test_references_between_objects_resolve(objects: list[dict]) -> None:
    claims = {o["metadata"]["name"] for o in find(objects, "PersistentVolumeClaim")}
    config_maps = {o["metadata"]["name"] for o in find(objects, "ConfigMap")}
    for obj in workloads(objects):
        pod = obj["spec"]["template"]["spec"]
        templates = {t["metadata"]["name"] for t in obj["spec"].get("volumeClaimTemplates", [])}
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for v in volumes.values():
            if "persistentVolumeClaim" in v:
                assert v["persistentVolumeClaim"]["claimName"] in claims, obj["metadata"]["name"]
        for c in pod["containers"]:
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes or m["name"] in templates, (obj["metadata"]["name"], m["name"])
            for source in c.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps
            ports = {p.get("name") for p in c.get("ports", [])} | {p["containerPort"] for p in c.get("ports", [])}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                http = c.get(probe, {}).get("httpGet")
                if http:
                    assert http["port"] in ports, (obj["metadata"]["name"], probe)
    pod_labels = [o["spec"]["template"].get("metadata", {}).get("labels", {}) for o in workloads(objects)]
    for service in find(objects, "Service"):
        selector = service["spec"]["selector"].items()
        assert any(selector <= labels.items() for labels in pod_labels), f"Service {service['metadata']['name']}"
    for obj in find(objects, "Deployment") + find(objects, "StatefulSet"):
        match = obj["spec"]["selector"]["matchLabels"].items()
        assert match <= obj["spec"]["template"]["metadata"]["labels"].items(), obj["metadata"]["name"]
    for hpa in find(objects, "HorizontalPodAutoscaler"):
        one(objects, "Deployment", hpa["spec"]["scaleTargetRef"]["name"])
    ingress = one(objects, "Ingress", "gateway")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "gateway" and one(objects, "Service", "gateway")


def test_images_are_the_ones_deploy_builds() -> None:
    """Each image the base names is one of deploy/*.Dockerfile (``deepfake-video-service`` is
    ``video_service.Dockerfile``), except Redis's."""
    for obj in workloads(_read_base(K8S / "base")):
        for c in containers(obj):
            if c["image"].startswith("redis:"):
                continue
            assert c["image"].startswith("deepfake-"), c["image"]
            dockerfile = REPO / "deploy" / (c["image"].removeprefix("deepfake-").replace("-", "_") + ".Dockerfile")
            assert dockerfile.is_file(), f"{c['image']}: no {dockerfile.relative_to(REPO)}"


def test_every_deepfake_variable_is_a_settings_field_and_gateway_and_workers_agree(objects: list[dict]) -> None:
    names = [k for cm in find(objects, "ConfigMap") for k in cm["data"]]
    for obj in workloads(objects):
        for c in containers(obj):
            names += [e["name"] for e in c.get("env", [])]
    unknown = sorted({n for n in names if n.startswith("DEEPFAKE_") and not _field_for(n)})
    assert unknown == []
    gateway = container_env(containers(one(objects, "Deployment", "gateway"))[0], objects)
    worker = container_env(containers(one(objects, "Deployment", "worker"))[0], objects)
    for key in ("REDIS_URL", "UPLOAD_DIR", "ARTIFACTS_DIR", "QUEUE_NAME", *(r.service_url_field.upper() for r in roles())):
        assert gateway.get(f"DEEPFAKE_GATEWAY_{key}") == worker.get(f"DEEPFAKE_WORKER_{key}"), key
    # the API key comes from a Secret, never from a manifest
    assert set(gateway["DEEPFAKE_GATEWAY_API_KEY"]) == {"secretKeyRef"}
    assert gateway["DEEPFAKE_GATEWAY_AUTH_ENABLED"] == "true"
    # uploads and pictures are on one ReadWriteMany volume both mount
    for name in ("gateway", "worker"):
        pod = one(objects, "Deployment", name)["spec"]["template"]["spec"]
        data = next(v for v in pod["volumes"] if v["name"] == "data")
        claim = one(objects, "PersistentVolumeClaim", data["persistentVolumeClaim"]["claimName"])
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


@pytest.mark.parametrize("role", list(roles()), ids=lambda r: r.name)
def test_each_model_role_has_a_service_deployment_and_autoscaler(objects: list[dict], role: Any) -> None:
    name = role.service.replace("_", "-")
    deployment, service = one(objects, "Deployment", name), one(objects, "Service", name)
    assert service["spec"]["ports"][0]["port"] == role.port
    c = containers(deployment)[0]
    env = container_env(c, objects)
    assert env[role.service_env_prefix + "PORT"] == str(role.port) and env[role.service_env_prefix + "HOST"] == "0.0.0.0"
    assert c["readinessProbe"]["httpGet"]["path"] == "/healthz" and c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert role.model_env in env
    url = f"http://{name}:{role.port}"
    for component, prefix in (("gateway", "DEEPFAKE_GATEWAY_"), ("worker", "DEEPFAKE_WORKER_")):
        component_env = container_env(containers(one(objects, "Deployment", component))[0], objects)
        assert component_env[prefix + role.service_url_field.upper()] == url
    hpa = one(objects, "HorizontalPodAutoscaler", name)
    assert hpa["spec"]["scaleTargetRef"]["name"] == name


def test_keda_scales_the_workers_on_the_queue_the_gateway_fills(objects: list[dict]) -> None:
    scaled = one(objects, "ScaledObject", "worker")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "worker" and one(objects, "Deployment", "worker")
    # /readyz (the gateway's readiness probe) needs a live worker: scaling to zero would stop uploads
    assert scaled["spec"]["minReplicaCount"] >= 1
    gateway = container_env(containers(one(objects, "Deployment", "gateway"))[0], objects)
    queue = gateway.get("DEEPFAKE_GATEWAY_QUEUE_NAME", GatewaySettings.model_fields["queue_name"].default)
    redis_url = urlsplit(gateway["DEEPFAKE_GATEWAY_REDIS_URL"])
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    meta = trigger["metadata"]
    assert meta["listName"] == f"rq:queue:{queue}"  # RQ's list for a queue (rq.Queue.redis_queue_namespace_prefix)
    assert meta["address"] == f"{redis_url.hostname}:{redis_url.port}"
    assert meta["databaseIndex"] == redis_url.path.strip("/")
    assert int(meta["listLength"]) >= 1


def test_rq_names_its_queue_list_as_keda_is_told() -> None:
    from rq import Queue

    assert Queue.redis_queue_namespace_prefix == "rq:queue:"


def test_redis_keeps_its_append_only_file_on_a_volume(objects: list[dict]) -> None:
    redis = one(objects, "StatefulSet", "redis")
    c = containers(redis)[0]
    args = c.get("args", [])
    assert args[args.index("--appendonly") + 1] == "yes"
    data_dir = args[args.index("--dir") + 1]
    assert any(m["mountPath"] == data_dir for m in c["volumeMounts"])
    assert redis["spec"]["volumeClaimTemplates"]


def test_network_policies_keep_the_services_internal(objects: list[dict]) -> None:
    policies = find(objects, "NetworkPolicy")
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]]
    assert deny, "no default deny of ingress"

    def selected(policy: dict, app: str) -> bool:
        sel = policy["spec"]["podSelector"]
        if sel.get("matchLabels", {}).get("app.kubernetes.io/name") == app:
            return True
        return any(e["key"] == "app.kubernetes.io/name" and app in e["values"] for e in sel.get("matchExpressions", []))

    for app in ("redis", "video-service", "audio-service"):
        mine = [p for p in policies if selected(p, app)]
        assert mine, app
        for p in mine:
            assert p["spec"]["egress"] == [] and "Egress" in p["spec"]["policyTypes"], f"{app} may send out"
            for rule in p["spec"]["ingress"]:
                assert all(src.get("podSelector") or src.get("namespaceSelector") for src in rule["from"]), app
    workers = [p for p in policies if selected(p, "worker") and "Egress" in p["spec"].get("policyTypes", [])]
    assert workers == [], "the workers must be able to deliver webhooks"
