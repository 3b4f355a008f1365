"""Generator metadata: what front ends, editors, encoders and cameras write, read back with Pillow/PyAV.

Each file is written here the way the tool writes it (PNG text chunks through Pillow's PngInfo as the
front ends do, EXIF/XMP through Pillow, IPTC IIM as a Photoshop APP13 block, container tags through
PyAV/FFmpeg); the labelled files of ../shared show what real files carry.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from provenance_helpers import IPTC, encode_image, write_video

from shared.provenance import ProvenanceSettings, inspect_provenance

A1111 = (
    "portrait photo of an astronaut, studio light\nNegative prompt: blurry\n"
    "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model hash: 6ce0161689, "
    "Model: v1-5-pruned-emaonly"
)
COMFY_PROMPT = {"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20}}, "4": {"class_type": "CheckpointLoaderSimple", "inputs": {}}}  # fmt: skip
COMFY_WORKFLOW = {"last_node_id": 9, "nodes": [{"id": 3, "type": "KSampler"}], "links": []}


def _png(rgb: np.ndarray, **text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


def _kinds(section) -> list[tuple[str, str, str | None]]:
    return [(f.source, f.kind, f.generator) for f in section.metadata.findings]


@pytest.fixture(scope="module")
def small(astronaut: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(astronaut[::2, ::2])


@pytest.mark.parametrize(
    ("chunks", "generator"),
    [
        ({"parameters": A1111}, "AUTOMATIC1111"),
        ({"prompt": json.dumps(COMFY_PROMPT), "workflow": json.dumps(COMFY_WORKFLOW)}, "ComfyUI"),
        ({"invokeai_metadata": json.dumps({"positive_prompt": "a cat", "steps": 30})}, "InvokeAI"),
        ({"parameters": json.dumps({"Prompt": "a cat", "Fooocus V2 Expansion": "x"}), "fooocus_scheme": "fooocus"}, "Fooocus"),  # fmt: skip
        ({"parameters": json.dumps({"sui_image_params": {"prompt": "a cat"}})}, "SwarmUI"),
        (
            {
                "Software": "NovelAI",
                "Source": "Stable Diffusion XL C1E1DE52",
                "Comment": json.dumps({"prompt": "a cat", "steps": 28, "sampler": "k_euler"}),
            },
            "NovelAI",
        ),
    ],
    ids=["a1111", "comfyui", "invokeai", "fooocus", "swarmui", "novelai"],
)
def test_png_generator_chunks(small: np.ndarray, write, chunks: dict[str, str], generator: str, defaults: ProvenanceSettings) -> None:
    section = inspect_provenance(write("gen.png", _png(small, **chunks)), defaults)
    found = section.metadata.findings
    assert found and all(f.source == "png_text" and f.kind == "generator" for f in found)
    assert all(generator in (f.generator or "") for f in found if f.key not in ("Source",))
    assert {f.key for f in found} == set(chunks)
    assert all("unsigned" in f.does_not_mean for f in found)
    # Metadata names a generator but proves nothing: an indication, never 'fake' on its own.
    assert section.evidence == "generator_metadata" and section.verdict == "uncertain"
    assert section.c2pa.state == "none"


def test_aigc_label(small: np.ndarray, write, defaults: ProvenanceSettings) -> None:
    label = json.dumps({"Label": "1", "ContentProducer": "001191110108MA01KP2T5U00000", "ProduceID": "abc"})
    section = inspect_provenance(write("aigc.png", _png(small, AIGC=label)), defaults)
    assert _kinds(section) == [("png_text", "ai_declared", None)]
    assert section.verdict == "uncertain"


def test_values_are_cut_to_the_limit(small: np.ndarray, write) -> None:
    long = A1111 + ", " + "x" * 10_000
    section = inspect_provenance(write("long.png", _png(small, parameters=long)), ProvenanceSettings(max_metadata_value_chars=100))
    assert len(section.metadata.findings[0].value) == 101 and section.metadata.findings[0].value.endswith("…")


def test_a1111_jpeg_user_comment(small: np.ndarray, write, defaults: ProvenanceSettings) -> None:
    # AUTOMATIC1111 writes its parameters into EXIF UserComment (piexif's UNICODE prefix, UTF-16 BE).
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + A1111.encode("utf-16-be")
    section = inspect_provenance(write("a1111.jpg", encode_image(small, "JPEG", exif=exif)), defaults)
    assert _kinds(section) == [("exif", "generator", section.metadata.findings[0].generator)]
    assert "AUTOMATIC1111" in (section.metadata.findings[0].generator or "")
    assert section.metadata.findings[0].value.startswith("portrait photo of an astronaut")


def _xmp(source_type: str, creator_tool: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'xmlns:xmp="http://ns.adobe.com/xap/1.0/" Iptc4xmpExt:DigitalSourceType="{IPTC}{source_type}" '
        f'xmp:CreatorTool="{creator_tool}"/></rdf:RDF></x:xmpmeta>'
    ).encode()


def test_exif_software_camera_and_xmp_source_type(small: np.ndarray, write, defaults: ProvenanceSettings) -> None:
    exif = Image.Exif()
    exif[0x0131] = "Adobe Photoshop 25.0 (Windows)"
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS R5"
    data = encode_image(small, "JPEG", exif=exif, xmp=_xmp("trainedAlgorithmicMedia", "Adobe Firefly"))
    section = inspect_provenance(write("photo.jpg", data), defaults)
    assert _kinds(section) == [
        ("exif", "editor", "Adobe Photoshop"),
        ("exif", "capture_device", None),
        ("xmp", "ai_declared", None),
        ("xmp", "generator", "Adobe Firefly"),
    ]
    camera = section.metadata.findings[1]
    assert camera.value == "Canon Canon EOS R5" and "does not prove an unaltered capture" in camera.does_not_mean
    assert "trainedAlgorithmicMedia" in section.metadata.findings[2].means
    assert section.verdict == "uncertain" and section.evidence == "generator_metadata"


def test_xmp_capture_source_type_in_webp_is_no_evidence(small: np.ndarray, write, defaults: ProvenanceSettings) -> None:
    data = encode_image(small, "WEBP", xmp=_xmp("digitalCapture", "Pixel Camera"))
    section = inspect_provenance(write("capture.webp", data), defaults)
    assert _kinds(section) == [("xmp", "declared_source", None), ("xmp", "software", None)]
    assert section.verdict == "not_applicable"


def test_iptc_originating_program(small: np.ndarray, write, defaults: ProvenanceSettings) -> None:
    iim = b"".join(b"\x1c\x02" + bytes([tag]) + struct.pack(">H", len(v)) + v for tag, v in ((65, b"Midjourney"), (70, b"6.1")))  # fmt: skip
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + iim
    body = b"Photoshop 3.0\x00" + resource
    jpeg = encode_image(small, "JPEG")
    data = jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]
    section = inspect_provenance(write("mj.jpg", data), defaults)
    assert _kinds(section) == [("iptc", "generator", "Midjourney")]
    assert section.metadata.findings[0].value == "Midjourney 6.1"


def test_container_tags(tmp_path: Path, defaults: ProvenanceSettings) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, comment="Generated with Runway Gen-3 Alpha")
    section = inspect_provenance(path, defaults)
    kinds = _kinds(section)
    # FFmpeg (libavformat) writes its own encoder tag: a re-mux/re-encode, routine and not evidence.
    assert ("container", "encoder", "FFmpeg") in kinds
    assert ("container", "generator", "Runway") in kinds
    assert section.verdict == "uncertain" and section.watermarks.status == "not_checked"


def test_audio_container_encoder(tmp_path: Path, defaults: ProvenanceSettings) -> None:
    path = tmp_path / "voice.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=16000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1600), np.int16), format="s16", layout="mono")
        frame.sample_rate = 16000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    section = inspect_provenance(path, defaults)
    assert ("container", "encoder", "FFmpeg") in _kinds(section)
    assert section.verdict == "not_applicable" and section.evidence == "none"


def test_labelled_files_metadata(shared_media: Path, defaults: ProvenanceSettings) -> None:
    photo = inspect_provenance(shared_media / "provenance" / "no_manifest.jpg", defaults)
    assert ("exif", "editor", "Adobe Photoshop") in _kinds(photo)
    clip = next((shared_media / "video").glob("dfdc_*.mp4"))
    assert ("container", "encoder", "FFmpeg") in _kinds(inspect_provenance(clip, defaults))
