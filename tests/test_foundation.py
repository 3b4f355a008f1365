"""The shared foundation: error bodies, the registries, settings, import weight of the gateway side."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from shared import errors
from shared.registry import PUBLISHED, get_published


def test_error_body_is_an_object_with_code_and_message() -> None:
    exc = errors.FileTooLarge("upload is 3.2 GB; the limit is 500 MB", limit_bytes=500_000_000)
    body = exc.to_body()
    assert body == {
        "error": {
            "code": "file_too_large",
            "message": "upload is 3.2 GB; the limit is 500 MB",
            "details": {"limit_bytes": 500_000_000},
        }
    }
    assert exc.status == 413 and exc.exit_code == 2


def test_error_codes_are_unique_and_statuses_are_http() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.DeepfakeError)]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes)), codes
    assert all(400 <= c.status < 600 for c in classes)


def test_published_registry_pins_every_icpr_file_by_its_sha256() -> None:
    icpr = [m for m in PUBLISHED.values() if m.kind == "video"]
    assert len(icpr) == 10
    for m in icpr:
        # The ICPR2020 file names carry their own sha256; the registry must agree with itself.
        assert m.file == f"{m.name}_bestval-{m.sha256}.pth"
        assert len(m.sha256) == 64 and m.training_data


def test_unknown_published_model_lists_known_ones() -> None:
    with pytest.raises(errors.UnknownModel) as info:
        get_published("EfficientNetB7_DFDC")
    assert "EfficientNetAutoAttB4_DFDC" in info.value.message and "AASIST-L" in info.value.message


def test_settings_read_the_documented_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.settings import ModelSettings

    monkeypatch.setenv("DEEPFAKE_VIDEO_MODEL", "/models/mine")
    monkeypatch.setenv("DEEPFAKE_AUDIO_MODEL", "AASIST-L")
    s = ModelSettings()
    assert (s.video_model, s.audio_model) == ("/models/mine", "AASIST-L")


def test_library_core_imports_without_torch() -> None:
    # The gateway imports errors, settings, registry and the report schema; none may pull torch in.
    code = (
        "import sys, shared.errors, shared.settings, shared.registry, shared.modelcard;"
        "import json; print(json.dumps(sorted(m for m in ('torch','openvino','cv2') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []
