"""What follows from a kind of evidence's declaration (``shared.evidence``): model kinds, settings, commands."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.cli import build_parser
from shared.evidence import KindOfEvidence, builtin_kinds, command_modules, own_model_kinds
from shared.modelcard import ModelCard, VideoPreprocessing, check_model_kind, model_kinds
from shared.roles import roles
from shared.settings import AnalyzeSettings

OWN_MODEL = [kind for kind in builtin_kinds() if kind.own_model]


def test_model_kinds_are_the_roles_the_face_detector_and_the_kinds_with_a_model() -> None:
    assert model_kinds() == {role.registry_kind for role in roles()} | {"face_detector"} | own_model_kinds()
    assert own_model_kinds() == {"lips", "generated"}


def test_an_undeclared_model_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model kind 'pictures'; known kinds: .*generated"):
        check_model_kind("pictures")
    with pytest.raises(ValidationError, match="unknown model kind"):
        ModelCard(name="x", architecture="y", kind="pictures", preprocessing=VideoPreprocessing())
    assert ModelCard(name="x", architecture="y", kind="video", preprocessing=VideoPreprocessing()).kind == "video"


@pytest.mark.parametrize("kind", OWN_MODEL, ids=lambda kind: kind.name)
def test_a_kind_with_its_own_model_has_its_setting(kind: KindOfEvidence, monkeypatch: pytest.MonkeyPatch) -> None:
    field = AnalyzeSettings.model_fields[kind.model_field]
    assert field.default == kind.model_default and field.description == kind.model_description
    monkeypatch.setenv(f"DEEPFAKE_{kind.name.upper()}_MODEL", "/models/x")
    assert kind.model_spec(AnalyzeSettings()) == "/models/x"


def test_the_kinds_bring_their_commands() -> None:
    assert command_modules() == ["shared.evidence.lips.cli", "shared.evidence.generated.cli"]
    parser = build_parser()
    args = parser.parse_args(["models", "import-syncnet", "syncnet_v2.model", "--out", "out"])
    assert args.func.__module__ == "shared.evidence.lips.cli"
    args = parser.parse_args(["generated", "score", "picture.png"])
    assert args.func.__module__ == "shared.evidence.generated.cli"
