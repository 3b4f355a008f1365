"""Model roles (``shared/roles.py``): each declared once, and everything that names a role reads it there."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.roles import ROLES, get_role, register_role


def test_every_detector_with_a_model_names_a_declared_role() -> None:
    from shared.evidence.registry import evidence_classes

    named = {cls.model_role for cls in evidence_classes() if cls.model_role is not None}
    assert named and named <= set(ROLES)


def test_a_role_that_reuses_a_name_service_or_port_is_refused() -> None:
    video = get_role("video")
    for clash in (replace(video, service="lips_service", port=8009),  # the same name
                  replace(video, name="lips", port=8009),  # the same service package
                  replace(video, name="lips", service="lips_service", port=get_role("audio").port)):
        with pytest.raises(ValueError, match="clashes"):
            register_role(clash)
    assert set(ROLES) == {"video", "audio"}


def test_the_cli_has_one_model_flag_per_role() -> None:
    from shared.cli import build_parser

    parser = build_parser()
    for role in ROLES.values():
        args = parser.parse_args(["analyze", "x.mp4", role.cli_flag, "/models/m"])
        assert getattr(args, role.model_field) == "/models/m"


def test_role_settings_read_the_roles_env_names(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.settings import AnalyzeSettings, GatewaySettings, ModelSettings, WorkerSettings

    for role in ROLES.values():
        assert role.model_spec(ModelSettings()) == role.default_model
        monkeypatch.setenv(role.model_env, f"/models/{role.name}")
        monkeypatch.setenv(role.worker_url_env, f"http://{role.service}:1")
        assert role.model_spec(AnalyzeSettings()) == f"/models/{role.name}"
        assert role.service_url(WorkerSettings()) == f"http://{role.service}:1"
        assert role.service_url(GatewaySettings()) == role.default_service_url


def test_no_roles_service_can_be_a_webhook_target() -> None:
    """Each role's service, where the settings put it and on its default port, is one of the gateway's
    own endpoints: a new role's service cannot become an allowed callback target by being forgotten."""
    import ipaddress

    pytest.importorskip("fastapi", reason="the gateway extra is not installed")
    from gateway.app import webhook_policy
    from shared.settings import GatewaySettings

    moved = {role.service_url_field: f"http://127.0.0.1:{9100 + i}" for i, role in enumerate(ROLES.values())}
    policy = webhook_policy(GatewaySettings(webhook_allow_private=True, **moved))
    loopback = ipaddress.ip_address("127.0.0.1")
    assert policy.refusal(loopback, 9099) is None  # loopback itself is allowed here
    for i, role in enumerate(ROLES.values()):
        for port in (role.port, 9100 + i):
            assert policy.refusal(loopback, port) == "it is one of this service's own endpoints", role.name
