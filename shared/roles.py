"""Model roles: each model the analysis scores with, declared once.

A role ("video", "audio") is one :class:`ModelRole` in :data:`ROLES`. Everything that used to name the
two roles by hand follows from that one entry:

- the setting that picks its model (``DEEPFAKE_<ROLE>_MODEL``, the ``<role>_model`` field of
  ``shared.settings.ModelSettings``) and the CLI flag ``--<role>-model``;
- its inference service: the package that runs it (``python -m <role>_service``), its default port,
  the setting through which the gateway and the workers reach it (``DEEPFAKE_WORKER_<ROLE>_SERVICE_URL``,
  ``DEEPFAKE_GATEWAY_<ROLE>_SERVICE_URL``), the gateway's readiness check, the webhook deny-lists (a
  service's port can never be a webhook target), the local runner's processes (``deploy/local.py``) and
  the compose service (checked by ``tests/service/test_deploy.py``);
- how a model of the role is loaded: in-process (``deepfake analyze``) and as a remote scorer (the
  worker, over HTTP).

A kind of evidence names its role by name (``Evidence.model_role``). This module is pure data: it imports
nothing from the rest of the project at import time, so settings, the CLI and the deploy tools can
read it without loading any model code. Adding a role is one :func:`register_role` call here.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ROLES", "ModelRole", "get_role", "register_role", "roles", "service_urls"]


def _load_dotted(path: str) -> Any:
    """``"package.module:Name.attr"`` -> the object it names (imported on demand)."""
    module, _, attrs = path.partition(":")
    obj: Any = importlib.import_module(module)
    for attr in attrs.split(".") if attrs else ():
        obj = getattr(obj, attr)
    return obj


@dataclass(frozen=True)
class ModelRole:
    """One model role: what it scores, where its model comes from, which service serves it."""

    #: the role's name, as kinds of evidence name it (``Evidence.model_role``): "video", "audio"
    name: str
    #: what it checks, in words for people ("faces", "voice"): used in reports, readiness and errors
    label: str
    #: the ``kind`` of its published models in ``shared.registry`` (``deepfake models list``)
    registry_kind: str
    #: the published model used when ``DEEPFAKE_<ROLE>_MODEL`` is not set
    default_model: str
    #: the package that serves it (``python -m <service>``; ``<service>.app:app`` for uvicorn)
    service: str
    #: the inference service's default port
    port: int
    #: ``"module:callable"`` that compiles a model folder in-process, e.g. ``FaceScorer.from_folder``
    local_scorer: str
    #: ``"module:Class"`` of the worker's scorer that calls the inference service over HTTP
    remote_scorer: str
    #: ``"module:Class"`` of the service's settings (``DEEPFAKE_<ROLE>_SERVICE_*``: host, port, ...)
    service_settings: str

    # --- names derived from the role (one rule, so no copy can drift) ------------------------------
    @property
    def model_field(self) -> str:
        """The settings field holding its model (``video_model``), read from ``DEEPFAKE_VIDEO_MODEL``."""
        return f"{self.name}_model"

    @property
    def model_env(self) -> str:
        return f"DEEPFAKE_{self.model_field.upper()}"

    @property
    def cli_flag(self) -> str:
        return f"--{self.name}-model"

    @property
    def service_url_field(self) -> str:
        """The gateway's and worker's settings field holding the service's address (``video_service_url``)."""
        return f"{self.name}_service_url"

    @property
    def worker_url_env(self) -> str:
        return f"DEEPFAKE_WORKER_{self.service_url_field.upper()}"

    @property
    def gateway_url_env(self) -> str:
        return f"DEEPFAKE_GATEWAY_{self.service_url_field.upper()}"

    @property
    def service_env_prefix(self) -> str:
        """The prefix of the service's own settings (``DEEPFAKE_VIDEO_SERVICE_``)."""
        return f"DEEPFAKE_{self.service.upper()}_"

    @property
    def default_service_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def service_title(self) -> str:
        """The inference service in words for people ("the voice analysis service")."""
        return f"the {self.label} analysis service"

    # --- reading settings and loading models --------------------------------------------------------
    def model_spec(self, settings: Any) -> str:
        """The registry name or model folder the settings choose for this role."""
        return str(getattr(settings, self.model_field))

    def service_url(self, settings: Any) -> str:
        """The address of this role's inference service in gateway or worker settings."""
        return str(getattr(settings, self.service_url_field))

    def load_local(self, folder: Path, **kwargs: Any) -> Any:
        """Compile the model folder in this process (``deepfake analyze``)."""
        return _load_dotted(self.local_scorer)(folder, **kwargs)

    def remote_scorer_class(self) -> Any:
        return _load_dotted(self.remote_scorer)

    def service_settings_class(self) -> Any:
        return _load_dotted(self.service_settings)


#: every model role by name, in the order services start and readiness lists them
ROLES: dict[str, ModelRole] = {}


def register_role(role: ModelRole) -> ModelRole:
    """Add a role. Its name, service and port must be new: two services on one port would answer each
    other's calls."""
    for other in ROLES.values():
        if role.name == other.name or role.service == other.service or role.port == other.port:
            raise ValueError(f"model role {role.name!r} clashes with {other.name!r} (name, service or port)")
    ROLES[role.name] = role
    return role


def get_role(name: str) -> ModelRole:
    try:
        return ROLES[name]
    except KeyError:
        raise KeyError(f"unknown model role {name!r}; known roles: {', '.join(ROLES)}") from None


def roles() -> Iterator[ModelRole]:
    return iter(ROLES.values())


def service_urls(settings: Any) -> list[str]:
    """Every inference service's address for the webhook deny-lists: where the gateway or worker
    ``settings`` reach each role's service, and the service's default port on this machine, so no
    role's service can be named as a webhook target."""
    return [url for role in roles() for url in (role.service_url(settings), role.default_service_url)]


register_role(ModelRole(
    name="video",
    label="faces",
    registry_kind="video",
    default_model="EfficientNetAutoAttB4_DFDC",
    service="video_service",
    port=8001,
    local_scorer="shared.ensemble:load_face_scorer",
    remote_scorer="preprocess_worker.remote:RemoteFaceScorer",
    service_settings="shared.settings:VideoServiceSettings",
))
register_role(ModelRole(
    name="audio",
    label="voice",
    registry_kind="audio",
    default_model="AASIST",
    service="audio_service",
    port=8002,
    local_scorer="shared.audio_scoring:AudioScorer.from_folder",
    remote_scorer="preprocess_worker.remote:RemoteAudioScorer",
    service_settings="shared.settings:AudioServiceSettings",
))
