"""A precision other than f32 is opt-in per model and needs its parity measurement (card or registry entry).

``tests/pipeline/test_compile_precision.py`` checks what every model ``deepfake analyze`` compiles is
compiled with; this file checks the rule that decides it.
"""

from __future__ import annotations

import pydantic
import pytest

from shared.modelcard import ModelCard, PrecisionParity, VideoPreprocessing
from shared.registry import PACKAGED, PackagedModel

PARITY = PrecisionParity(
    output="fake probability per face", max_abs_delta=0.001, measured_on="12 face crops", measured_with="a command"
)


def _card(**kw) -> ModelCard:  # type: ignore[no-untyped-def]
    return ModelCard(name="m", architecture="a", kind="video", preprocessing=VideoPreprocessing(), **kw)


def test_a_card_is_f32_unless_a_measurement_says_otherwise() -> None:
    assert _card().inference_precision == "f32"
    with pytest.raises(pydantic.ValidationError, match="needs a parity measurement"):
        _card(inference_precision="bf16")
    assert _card(inference_precision="bf16", precision_parity=PARITY).inference_precision == "bf16"
    with pytest.raises(pydantic.ValidationError):
        _card(inference_precision="fp64")  # not an OpenVINO CPU precision


def test_a_packaged_model_entry_follows_the_same_rule() -> None:
    with pytest.raises(ValueError, match="needs a parity measurement"):
        PackagedModel(name="x", package="x", file="x.onnx", install_hint="", licence="", inference_precision="f16")
    assert PACKAGED["silero-vad"].inference_precision == "f32"
