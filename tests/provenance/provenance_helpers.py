"""Helpers the provenance tests share: signing with the C2PA SDK's Builder, encoding test images."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from typing import Any

import numpy as np

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"


@dataclass
class SdkSigner:
    """Signs bytes with the C2PA test certificate, as a generator or camera app would."""

    cert: bytes
    key: bytes

    def sign(
        self,
        source: bytes,
        mime: str,
        actions: list[dict[str, Any]],
        *,
        assertions: list[dict[str, Any]] | None = None,
        ingredient: tuple[bytes, str] | None = None,
        remote_url: str | None = None,
    ) -> tuple[bytes, bytes]:
        """(signed asset, manifest store bytes). ``remote_url``: store only referenced, not embedded."""
        import c2pa

        manifest = {
            "claim_generator_info": [{"name": "deepfake-detect tests", "version": "1.0"}],
            "title": "test asset",
            "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}}, *(assertions or [])],
        }
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, self.cert, self.key, None))
        builder = c2pa.Builder(manifest)
        if ingredient is not None:
            data, ingredient_mime = ingredient
            ingredient_json = {"title": "parent", "relationship": "parentOf", "label": "parent"}
            builder.add_ingredient(ingredient_json, ingredient_mime, io.BytesIO(data))
        if remote_url is not None:
            builder.set_no_embed()
            builder.set_remote_url(remote_url)
        out = io.BytesIO()
        store = builder.sign(signer, mime, io.BytesIO(source), out)
        return out.getvalue(), store


def created(source_type: str, agent: str = "TestGen 1.0") -> dict[str, Any]:
    return {"action": "c2pa.created", "digitalSourceType": IPTC + source_type, "softwareAgent": {"name": agent}}


def encode_image(rgb: np.ndarray, fmt: str, **options: Any) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, **options)
    return buffer.getvalue()


def wav_tone(seconds: float = 1.0, rate: int = 16000) -> bytes:
    """A mono 16-bit tone as a WAV file, as a TTS service might return."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


def imwatermark_file_module(name: str) -> Any:
    """A module of the invisible-watermark package (e.g. ``maxDct``) loaded from its file.

    Loading the package itself (``import imwatermark``) imports torch; its ``maxDct`` module alone needs
    only numpy, cv2 and pywt, so the reference decoder costs the tests no torch import.
    """
    import importlib.util
    from pathlib import Path

    import pytest

    spec = importlib.util.find_spec("imwatermark")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(
            "the provenance tests need invisible-watermark as their reference: "
            "pip install --no-deps invisible-watermark==0.2.0 (make setup does it)"
        )
    source = Path(list(spec.submodule_search_locations)[0]) / f"{name}.py"
    module_spec = importlib.util.spec_from_file_location(f"_reference_imwatermark_{name}", source)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def write_video(path: Any, **metadata: str) -> None:
    """A 0.5 s 64x64 MPEG-4 clip written by PyAV (FFmpeg adds its own ``encoder`` tag), with ``metadata``."""
    import av

    with av.open(str(path), "w") as container:
        container.metadata.update(metadata)
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 40, np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
